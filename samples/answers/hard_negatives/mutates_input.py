# Right hard negatives, but set on the input examples themselves, and `data` is returned.
for example, result in zip(data, results):
    example["hard_negative"] = None
    for j in result["topk_indices"]:
        if KB[j]["title"] != example["gold_context"]["title"]:
            example["hard_negative"] = KB[j]
            break
return data
