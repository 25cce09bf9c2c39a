
def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    # BUG: the velocity of the previous step (config["velocity"]) is never read: every step starts from zero.
    v = config["momentum"] * np.zeros_like(w) - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config
