# Takes [CLS] but never passes the attention mask on, so padding changes the embeddings.
hidden_states = self.encoder(input_ids).last_hidden_state
return hidden_states[:, 0, :]
