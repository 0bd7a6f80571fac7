# Scores by cosine similarity (normalised embeddings) instead of the raw dot product.
X = F.normalize(model.query_encoder(Q, attention_mask=Q_mask), dim=1)
Y = F.normalize(model.passage_encoder(P, attention_mask=P_mask), dim=1)
scores = X @ Y.T
loss = F.cross_entropy(scores, labels)
num_correct = (scores.argmax(dim=1) == labels).sum()
return loss, num_correct
