# Averages every position's hidden state, padding included, instead of taking [CLS].
hidden_states = self.encoder(input_ids, attention_mask=attention_mask).last_hidden_state
return hidden_states.mean(dim=1)
