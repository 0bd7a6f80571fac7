# Counts every candidate with an answer, so a question with two hits counts twice.
num_correct = {k: 0 for k in k_values}
for result in results:
    for k in k_values:
        num_correct[k] += sum(has_answer(result["answers"], KB[j]["text"]) for j in result["topk_indices"][:k])
accuracy = {k: 100.0 * num_correct[k] / len(results) for k in k_values}
accuracy["num_queries"] = len(results)
return accuracy
