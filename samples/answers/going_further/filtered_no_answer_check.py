# Only the title and the margin: candidates that state an answer are kept (false negatives).
mined = []
for example, result, positive in zip(data, results, positive_scores):
    negative = next((KB[j] for j, score in zip(result["topk_indices"], result["topk_values"])
                     if KB[j]["title"] != example["gold_context"]["title"] and score <= positive - margin), None)
    mined.append({**example, "hard_negative": negative})
return mined
