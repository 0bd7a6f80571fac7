# Takes the last position instead of the first.
hidden_states = self.encoder(input_ids, attention_mask=attention_mask).last_hidden_state
return hidden_states[:, -1, :]
