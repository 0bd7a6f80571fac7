# Finds each candidate's position from its score (list.index): duplicate passages, which score the same, all get the first one's position.
passage_embeddings = embed_KB(KB, model, batch_size, device=device, disable_tqdm=disable_tqdm)
question_embeddings = embed_questions(data, model, batch_size, device=device, disable_tqdm=disable_tqdm)
scores = question_embeddings @ passage_embeddings.T
results = []
for example, row in zip(data, scores.tolist()):
    best = sorted(row, reverse=True)[:num_candidates]
    row_indices = [row.index(value) for value in best]
    results.append({
        "question": example["question"],
        "answers": example["answers"],
        "gold_title": example["gold_context"]["title"],
        "topk_titles": [KB[j]["title"] for j in row_indices],
        "topk_indices": row_indices,
        "topk_values": best,
    })
return results
