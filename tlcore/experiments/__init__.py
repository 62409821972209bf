"""Experiments: a grid of configurations, each trained on the same seeded splits, with honest error bars.

    plan = ExperimentPlan.grid(["mobilenet_v2_035"], weights=["imagenet", "none"], repeats=3, epochs=5)
    experiment = Experiment(plan, workspace=...).run(dataset)     # returns self
    experiment.rows_                                              # one ConfigurationRow per configuration

Every configuration is trained on the same splits (``stats.stratified_splits``), so the
differences between rows come from the configurations, not from which pictures were kept
aside; for "how many pictures are enough", smaller training sets are drawn from the training
part of each split, nested (the 5 pictures per class are among the 10). The feature cache
makes repeats and learning-curve points cheap: the frozen part's outputs depend on the
pictures, not on the split. A configuration whose starting weights are missing offline is
*skipped* (with the reason), never a failure of the whole experiment.

Presets a teacher clicks: ``transfer_vs_scratch``, ``which_network``, ``how_many_pictures`` (and in a
class, ``mine_vs_class``); they
compare networks whose pretrained weights are on this computer (the others are left out, and
counted nowhere). Times are estimated from what this computer measured before
(``training_times``) and corrected as the trainings finish (``TimeLeft``). ``answer_sentence`` words
the result, with what its error bars allow, for the page and the command line alike.

    plan.py        what is compared, how often, how long each training should take; the presets
    experiment.py  running it (``Experiment``), its rows, the time left, the experiments kept
    answer.py      its answer in one sentence, and the short labels of its chart
"""

from .answer import answer_sentence, configuration_of, short_labels
from .experiment import (
    EXPERIMENT_FILE,
    EXPERIMENTS_DIR,
    ConfigurationRow,
    Experiment,
    RepeatResult,
    Skipped,
    StopExperiment,
    TimeLeft,
    list_experiments,
)
from .plan import (
    WHICH_NETWORK,
    Configuration,
    ExperimentPlan,
    PlannedTraining,
    how_many_pictures,
    mine_vs_class,
    transfer_vs_scratch,
    which_network,
    with_weights_here,
)

__all__ = ["EXPERIMENT_FILE", "EXPERIMENTS_DIR", "WHICH_NETWORK", "Configuration", "ConfigurationRow", "Experiment",
           "ExperimentPlan", "PlannedTraining", "RepeatResult", "Skipped", "StopExperiment", "TimeLeft",
           "answer_sentence", "configuration_of", "how_many_pictures", "list_experiments", "mine_vs_class", "short_labels",
           "transfer_vs_scratch", "which_network", "with_weights_here"]
