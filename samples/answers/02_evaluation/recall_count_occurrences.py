# Counts every occurrence of the gold title among the first k, so a question can count twice.
k_accuracy = {}
for k in k_values:
    hits = sum(result["topk_titles"][:k].count(result["gold_title"]) for result in results)
    k_accuracy[k] = 100.0 * hits / len(results)
k_accuracy["num_queries"] = len(results)
return k_accuracy
