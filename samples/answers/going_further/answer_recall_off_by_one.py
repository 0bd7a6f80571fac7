# rank <= k: a hit at rank k (the (k+1)-th candidate) counts for k.
num_correct = {k: 0 for k in k_values}
for result in results:
    rank = next((r for r, j in enumerate(result["topk_indices"])
                 if has_answer(result["answers"], KB[j]["text"])), None)
    for k in k_values:
        if rank is not None and rank <= k:
            num_correct[k] += 1
accuracy = {k: 100.0 * num_correct[k] / len(results) for k in k_values}
accuracy["num_queries"] = len(results)
return accuracy
