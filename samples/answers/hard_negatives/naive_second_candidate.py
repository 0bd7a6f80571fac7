# The original assignment's loop: the 2nd candidate if the 1st has the gold title, else the 1st; picks gold-title duplicates.
mined = []
for example, result in zip(data, results):
    if result["topk_titles"][0] == example["gold_context"]["title"]:
        j = result["topk_indices"][1]
    else:
        j = result["topk_indices"][0]
    mined.append({**example, "hard_negative": KB[j]})
return mined
