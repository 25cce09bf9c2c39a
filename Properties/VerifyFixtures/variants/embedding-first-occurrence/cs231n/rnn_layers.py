
def word_embedding_backward(dout, cache):
    x, shape = cache
    dW = np.zeros(shape)
    seen = set()
    N, T = x.shape
    for n in range(N):
        for t in range(T):
            # BUG: a word already seen is skipped, so only its first occurrence reaches dW.
            if x[n, t] in seen:
                continue
            seen.add(x[n, t])
            dW[x[n, t]] += dout[n, t]
    return dW
