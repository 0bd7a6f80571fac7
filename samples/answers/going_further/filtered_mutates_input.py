# Sets the key on the input examples themselves and returns the input list.
for example, result, positive in zip(data, results, positive_scores):
    example["hard_negative"] = next((KB[j] for j, score in zip(result["topk_indices"], result["topk_values"])
                                     if KB[j]["title"] != example["gold_context"]["title"] and score <= positive - margin
                                     and not has_answer(example["answers"], KB[j]["text"])), None)
return data
