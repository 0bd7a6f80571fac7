# Correct, written differently: the model called directly, a full descending argsort, then the first num_candidates.
model.eval()
with torch.no_grad():
    passage_vectors = []
    for start in range(0, len(KB), batch_size):
        P, P_mask = tensorize_KB_batch(KB[start:start + batch_size])
        passage_vectors.append(model.passage_encoder(P.to(device), attention_mask=P_mask.to(device)).cpu())
    question_vectors = []
    for start in range(0, len(data), batch_size):
        Q, Q_mask, _, _, _ = tensorize_contrastive(data[start:start + batch_size])
        question_vectors.append(model.query_encoder(Q.to(device), attention_mask=Q_mask.to(device)).cpu())
scores = torch.cat(question_vectors) @ torch.cat(passage_vectors).T
order = torch.argsort(scores, dim=1, descending=True)[:, :num_candidates]
results = []
for i, example in enumerate(data):
    row_indices = [int(j) for j in order[i]]
    results.append({
        "question": example["question"],
        "answers": example["answers"],
        "gold_title": example["gold_context"]["title"],
        "topk_titles": [KB[j]["title"] for j in row_indices],
        "topk_indices": row_indices,
        "topk_values": [float(scores[i, j]) for j in row_indices],
    })
return results
