# Encodes the questions with the passage encoder too: the query encoder is never used or trained.
X = model.passage_encoder(Q, attention_mask=Q_mask)
Y = model.passage_encoder(P, attention_mask=P_mask)
scores = X @ Y.T
loss = F.cross_entropy(scores, labels)
num_correct = (scores.argmax(dim=1) == labels).sum()
return loss, num_correct
