# Right vectors, but computed without gradients: training could never update the encoder.
with torch.no_grad():
    hidden_states = self.encoder(input_ids, attention_mask=attention_mask).last_hidden_state
return hidden_states[:, 0, :]
