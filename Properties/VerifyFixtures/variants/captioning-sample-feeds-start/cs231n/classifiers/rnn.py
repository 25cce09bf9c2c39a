

def _sample_feeding_start(self, features, max_length=30):
    # every step is fed <START> instead of the word just sampled
    N = features.shape[0]
    captions = self._null * np.ones((N, max_length), dtype=np.int32)
    h, _ = affine_forward(features, self.params["W_proj"], self.params["b_proj"])
    c = np.zeros_like(h)
    Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
    for t in range(max_length):
        x = self.params["W_embed"][self._start * np.ones(N, dtype=np.int32)]
        if self.cell_type == "rnn":
            h, _ = rnn_step_forward(x, h, Wx, Wh, b)
        else:
            h, c, _ = lstm_step_forward(x, h, c, Wx, Wh, b)
        scores, _ = affine_forward(h, self.params["W_vocab"], self.params["b_vocab"])
        captions[:, t] = np.argmax(scores, axis=1)
    return captions


CaptioningRNN.sample = _sample_feeding_start
