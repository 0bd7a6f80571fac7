# Correct, another way: for each k, any hit among the first k (slower: has_answer again per k).
accuracy = {}
for k in k_values:
    answered = sum(any(has_answer(result["answers"], KB[j]["text"]) for j in result["topk_indices"][:k])
                   for result in results)
    accuracy[k] = 100 * answered / len(results)
accuracy["num_queries"] = len(results)
return accuracy
