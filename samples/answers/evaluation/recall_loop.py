# Correct, written differently: explicit loops over k and over each list's first k titles.
k_accuracy = {}
for k in k_values:
    hits = 0
    for result in results:
        found = False
        for title in result["topk_titles"][:k]:
            if title == result["gold_title"]:
                found = True
                break
        if found:
            hits += 1
    k_accuracy[k] = hits / len(results) * 100
k_accuracy["num_queries"] = len(results)
return k_accuracy
