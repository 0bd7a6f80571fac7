# Recall@k as a fraction (0-1) instead of a percentage (0-100).
num_correct = {k: 0 for k in k_values}
for result in results:
    rank = next((r for r, title in enumerate(result["topk_titles"]) if title == result["gold_title"]), None)
    for k in k_values:
        if rank is not None and rank < k:
            num_correct[k] += 1
k_accuracy = {k: num_correct[k] / len(results) for k in k_values}
k_accuracy["num_queries"] = len(results)
return k_accuracy
