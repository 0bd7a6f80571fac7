# Correct, written differently: the DualEncoder's forward, then -log_softmax gathered at the labels.
X, Y = model(Q, Q_mask, P, P_mask)
scores = torch.matmul(X, Y.transpose(0, 1))
log_probs = torch.log_softmax(scores, dim=-1)
loss = -log_probs.gather(1, labels.unsqueeze(1)).squeeze(1).mean()
num_correct = int((torch.max(scores, dim=1).indices == labels).sum().item())
return loss, num_correct
