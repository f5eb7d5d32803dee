"""The LR finder's validation table, as measured by ``bench/lr_finder.py --save`` (do not edit).

Each row: one model/data pair and seed; ``best`` is the best constant learning rate of
200-step sweeps (8 lrs per decade) on two data orders (the grid point with the
lowest mean log-loss of the two, after a 3-point smoothing along the grid; ``best_a`` and
``best_b``: each order's own), and the suggestions of one range test (1e-7 to 10, 100 steps)
on a third data order: the course's ``suggested_lr``, the three published rules, and the cost
of ``suggested_lr`` in range tests. Lesson 09 prints it.
"""

ROWS = [
    {'key': 'logreg', 'pair': 'logistic regression, digits, SGD m=0.9', 'seed': 0, 'best': 1.333521432163324, 'best_a': 1.333521432163324, 'best_b': 1.7782794100389228, 'suggested_lr': 0.8186372907194329, 'steepest': 0.6135907273413176, 'valley': 0.017886495290574348, 'minimum_div_10': 1.0, 'cost': 5.0},
    {'key': 'logreg', 'pair': 'logistic regression, digits, SGD m=0.9', 'seed': 1, 'best': 1.7782794100389228, 'best_a': 1.7782794100389228, 'best_b': 1.7782794100389228, 'suggested_lr': 1.6372745814388658, 'steepest': 0.42292428743894994, 'valley': 0.021544346900318822, 'minimum_div_10': 1.0, 'cost': 5.0},
    {'key': 'logreg', 'pair': 'logistic regression, digits, SGD m=0.9', 'seed': 2, 'best': 1.333521432163324, 'best_a': 1.333521432163324, 'best_b': 1.7782794100389228, 'suggested_lr': 2.0293609881141133, 'steepest': 0.8902150854450394, 'valley': 0.021544346900318822, 'minimum_div_10': 1.0, 'cost': 5.0},
    {'key': 'mlp', 'pair': 'MLP 64-64-10, digits, SGD m=0.9', 'seed': 0, 'best': 0.31622776601683794, 'best_a': 0.23713737056616552, 'best_b': 0.31622776601683794, 'suggested_lr': 0.4451075427225197, 'steepest': 0.42292428743894994, 'valley': 0.012328467394420659, 'minimum_div_10': 0.10722672220103231, 'cost': 4.0},
    {'key': 'mlp', 'pair': 'MLP 64-64-10, digits, SGD m=0.9', 'seed': 1, 'best': 0.31622776601683794, 'best_a': 0.31622776601683794, 'best_b': 0.31622776601683794, 'suggested_lr': 0.18476805083814438, 'steepest': 0.5094138014816375, 'valley': 0.012328467394420659, 'minimum_div_10': 0.08902150854450394, 'cost': 4.0},
    {'key': 'mlp', 'pair': 'MLP 64-64-10, digits, SGD m=0.9', 'seed': 2, 'best': 0.23713737056616552, 'best_a': 0.5623413251903491, 'best_b': 0.23713737056616552, 'suggested_lr': 0.22255377136125984, 'steepest': 0.5094138014816375, 'valley': 0.031257158496882355, 'minimum_div_10': 0.39442060594376555, 'cost': 4.0},
    {'key': 'cnn', 'pair': 'small CNN, digits, Adam', 'seed': 0, 'best': 0.01, 'best_a': 0.01333521432163324, 'best_b': 0.007498942093324558, 'suggested_lr': 0.016448330616439206, 'steepest': 0.03764935806792471, 'valley': 0.004862601580065354, 'minimum_div_10': 0.009545484566618346, 'cost': 4.0},
    {'key': 'cnn', 'pair': 'small CNN, digits, Adam', 'seed': 1, 'best': 0.01333521432163324, 'best_a': 0.01333521432163324, 'best_b': 0.01, 'suggested_lr': 0.01821908164265735, 'steepest': 0.031257158496882355, 'valley': 0.002310129700083158, 'minimum_div_10': 0.03511191734215134, 'cost': 4.75},
    {'key': 'cnn', 'pair': 'small CNN, digits, Adam', 'seed': 2, 'best': 0.01778279410038923, 'best_a': 0.01778279410038923, 'best_b': 0.01333521432163324, 'suggested_lr': 0.012557706266031535, 'steepest': 0.017886495290574348, 'valley': 0.0033516026509388406, 'minimum_div_10': 0.029150530628251757, 'cost': 5.36},
    {'key': 'transformer', 'pair': 'char transformer, AdamW (wd 0.01)', 'seed': 0, 'best': 0.0017782794100389228, 'best_a': 0.0017782794100389228, 'best_b': 0.0017782794100389228, 'suggested_lr': 0.0013941199572496505, 'steepest': 0.005857020818056661, 'valley': 0.0009111627561154895, 'minimum_div_10': 0.029150530628251757, 'cost': 5.348},
    {'key': 'transformer', 'pair': 'char transformer, AdamW (wd 0.01)', 'seed': 1, 'best': 0.0017782794100389228, 'best_a': 0.0017782794100389228, 'best_b': 0.0017782794100389228, 'suggested_lr': 0.001592282793341093, 'steepest': 0.004037017258596558, 'valley': 0.0005214008287999684, 'minimum_div_10': 0.050941380148163753, 'cost': 5.301},
    {'key': 'transformer', 'pair': 'char transformer, AdamW (wd 0.01)', 'seed': 2, 'best': 0.0023713737056616554, 'best_a': 0.0023713737056616554, 'best_b': 0.0023713737056616554, 'suggested_lr': 0.0017244564723489304, 'steepest': 0.0033516026509388406, 'valley': 0.0009111627561154895, 'minimum_div_10': 0.042292428743894994, 'cost': 5.348},
]
