
_correct_dropout_forward = dropout_forward


def dropout_forward(x, dropout_param):
    # test mode drops units too
    train = dict(dropout_param, mode="train")
    out, cache = _correct_dropout_forward(x, train)
    return out, (dropout_param, cache[1])
