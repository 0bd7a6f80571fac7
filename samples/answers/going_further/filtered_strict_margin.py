# Strictly below the gold score minus the margin: a candidate exactly at it is skipped.
mined = []
for example, result, positive in zip(data, results, positive_scores):
    negative = next((KB[j] for j, score in zip(result["topk_indices"], result["topk_values"])
                     if KB[j]["title"] != example["gold_context"]["title"] and score < positive - margin
                     and not has_answer(example["answers"], KB[j]["text"])), None)
    mined.append({**example, "hard_negative": negative})
return mined
