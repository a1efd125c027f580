"""The text of the ``fer-compare`` report, as blocks read from a ComparisonResult only.

Blocks are ``("h", level, text)``, ``("p", text)``, ``("table", header, rows)`` and
``("img", name, caption)``; :mod:`resnet_fer.report` renders them to markdown or HTML.
Every number is formatted from a value of the result (the tests check that each printed
number is in ``results.json``); a test that cannot reach ``p < alpha`` with this run's folds
is never printed as a result, only the smallest p it could have given.
"""
from __future__ import annotations

import math
from typing import Any

from bpnet.comparison import ComparisonResult, ModelMetrics
from bpnet.comparison_stats import METRICS

from .report_figures import CAPTIONS

__all__ = ["SMOKE_RUN", "blocks"]

#: the first line of a ``--quick`` report
SMOKE_RUN = ("SMOKE RUN (--quick): a few epochs on a small network, only to check that every "
             "stage runs. Its numbers mean nothing and are not a result; run without --quick "
             "for the comparison.")

LABELS = {"accuracy": "accuracy", "balanced_accuracy": "balanced acc.", "macro_f1": "macro F1",
          "kappa": "kappa", "ece": "ECE"}
PERCENT = ("accuracy", "balanced_accuracy")

TERMS = (
    "Terms. Each metric column gives the mean over all (repeat, fold) test folds and, in "
    "brackets, its 95 % interval with the Nadeau-Bengio correction for the overlap of the "
    "folds' training rows (a plain t interval over folds is too narrow). accuracy: "
    + METRICS["accuracy"] + "; balanced acc.: " + METRICS["balanced_accuracy"]
    + "; macro F1: " + METRICS["macro_f1"] + "; kappa: " + METRICS["kappa"] + "; ECE: "
    + METRICS["ece"] + ". pooled acc.: accuracy of the summed confusion matrix of every "
    "fold (each image counted once per repeat). train acc.: each fold's final model "
    "re-scored on its own training rows without augmentation; the last point of a train "
    "curve in Fig. 6 is instead the running accuracy over the last epoch's batches "
    "(augmented, for an image model) while the weights were still changing, so the two "
    "differ. fit s: wall seconds of fitting per fold (the BP stack's time shared by its "
    "folds). params: trainable parameters (after pruning for the BP network). ms/image: "
    "inference time per image on this device, input preparation included.")


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def _points(x) -> str:
    return "n/a" if x is None else f"{100 * x:+.1f} points"


def _metric(m: ModelMetrics, name: str) -> str:
    mean, lo, hi = m.metric(name)
    if name in PERCENT:
        return f"{100 * mean:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] %"
    return f"{mean:.3f} [{lo:.3f}, {hi:.3f}]"


def _p(test, p_holm: float | None, n_pairs: int, alpha: float) -> str:
    """A Holm-adjusted p, or why the test cannot reach ``alpha`` with this run."""
    if test is None:
        return "not run"
    if n_pairs * test.smallest_p >= alpha:
        return (f"not a test here: smallest p {test.smallest_p:g} before Holm over "
                f"{n_pairs} pair(s)")
    return f"{p_holm:.3f}"


def _ms(ms: float) -> str:
    """Milliseconds to three significant digits (0.000345428 -> '0.000345', 262.46 -> '262')."""
    return f"{ms:.3g}" if math.isfinite(ms) else "not measured"


def _leaderboard(res: ComparisonResult) -> list[tuple]:
    rows = [[m.model] + [_metric(m, name) for name in METRICS]
            + [_pct(m.pooled_accuracy), _pct(m.train_accuracy), f"{m.fit_seconds:.2f}",
               f"{m.n_params:.0f}", _ms(m.predict_ms)]
            for m in res.statistics.metrics]
    header = (["model"] + [LABELS[n] for n in METRICS]
              + ["pooled acc.", "train acc.", "fit s", "params", "ms/image"])
    return [("h", 2, "Leaderboard"), ("table", header, rows), ("p", TERMS)]


def _conclusion(res: ComparisonResult) -> list[tuple]:
    st = res.statistics
    best = st.best
    acc = next(m for m in st.metrics if m.model == best).metric("accuracy")[0]
    split = (f"the {res.splits.repeats} x {res.splits.k}-fold {res.splits.kind} split")
    if not st.pairs:
        return [("h", 2, "Conclusion"),
                ("p", f"Only {best} ran ({_pct(acc)} accuracy on {split}): nothing to "
                      "compare it with.")]
    beaten, not_beaten = [], []
    for pair in st.pairs:
        if best not in (pair.model_a, pair.model_b):
            continue
        other = pair.model_b if pair.model_a == best else pair.model_a
        ok = pair.can_reach("t_test", st.alpha) and pair.t_p_holm < st.alpha
        (beaten if ok else not_beaten).append(f"{other} (p = {pair.t_p_holm:.3f})")
    text = (f"The most accurate model is {best}, {_pct(acc)} mean test accuracy on {split}. ")
    method = ("the Nadeau-Bengio corrected resampled t-test over all folds, Holm-adjusted over "
              f"the {st.pairs[0].n_pairs} pair(s), at {st.alpha:g}")
    if beaten:
        text += f"By {method}, it is significantly more accurate than " + ", ".join(beaten)
        text += ("; it is not significantly better than " + ", ".join(not_beaten)
                 if not_beaten else "") + "."
    else:
        text += (f"By {method}, it is not significantly more accurate than any other model ("
                 + ", ".join(not_beaten) + "): the differences on this data may be noise.")
    text += (" The pairwise table adds McNemar's test on the same predictions"
             + (" and the bootstrap over groups" if res.splits.kind == "group" else "")
             + " as checks.")
    return [("h", 2, "Conclusion"), ("p", text)]


def _pairwise(res: ComparisonResult) -> list[tuple]:
    st = res.statistics
    if not st.pairs:
        return []
    B: list[tuple] = [("h", 2, "Pairwise tests")]
    rows = []
    for p in st.pairs:
        t = p.t_test
        rows.append([f"{p.model_a} - {p.model_b}", _points(t.mean_difference),
                     f"{_points(t.ci_low)} to {_points(t.ci_high)}",
                     _p(t, p.t_p_holm, p.n_pairs, st.alpha),
                     _p(p.mcnemar, p.mcnemar_p_holm, p.n_pairs, st.alpha),
                     _p(p.bootstrap, p.bootstrap_p_holm, p.n_pairs, st.alpha)])
    B.append(("table", ["pair", "accuracy difference", "corrected 95 % interval",
                        "corrected t p (Holm)", "McNemar p (Holm)",
                        "group bootstrap p (Holm)"], rows))
    B.append(("p", "corrected t: Nadeau-Bengio corrected resampled t over the (repeat, fold) "
                   "accuracy differences. McNemar: exact test on the out-of-fold predictions "
                   "of every repeat (both models predict each image once per repeat). Group "
                   "bootstrap: the difference resampled over whole groups (movies), run on "
                   "grouped splits only. Each test's p-values are adjusted over the pairs by "
                   "Holm's method. A test whose smallest possible p, after Holm, is not below "
                   f"{st.alpha:g} with this run's folds is not printed as a result; its "
                   "smallest p is given instead."))
    f = st.friedman
    if f is not None:
        ranks = ", ".join(f"{m} {r:.2f}" for m, r in zip(f.models, f.mean_ranks))
        if f.can_reach(st.alpha):
            text = (f"Friedman test over the {f.n_blocks} (repeat, fold) blocks (Iman-Davenport "
                    f"F = {f.f_stat:.2f}, p = {f.p_value:.3f}); Nemenyi critical difference "
                    f"{f.critical_difference:.2f} mean ranks at {f.alpha:g}. ")
        else:
            text = (f"The Friedman test is not printed: with {f.n_blocks} blocks no rank "
                    f"test can give p below {f.smallest_p:g}. ")
        text += (f"Mean ranks (rank one is best): {ranks}. The blocks share training rows, so read "
                 "the ranks as how consistently the models are ordered; the corrected t "
                 "above is the test that allows for that.")
        B.append(("p", text))
        B.append(("img", "critical_difference", CAPTIONS["critical_difference"]))
    return B


def _diagnosis(res: ComparisonResult) -> list[tuple]:
    B: list[tuple] = [("h", 2, "Diagnosis")]
    for d in res.statistics.diagnoses:
        extra = ""
        if d.best_epoch is not None:
            extra = (f"; lowest mean test loss in epoch {d.best_epoch} of {d.epochs}"
                     + ("" if d.last_gain is None else
                        f", test accuracy {_points(d.last_gain)} over the last fifth of "
                        "the epochs"))
        B.append(("p", f"{d.model}: train {_pct(d.train_accuracy)}, test "
                       f"{_pct(d.test_accuracy)} (train minus test {_points(d.gap)}; test minus "
                       f"chance {_points(d.above_chance)}{extra}): {d.verdict}."))
    B.append(("p", "under-trained: still improving when training stopped (test loss lowest in "
                   "the last epoch, or test accuracy still rising), so more epochs would help; "
                   "under-fitting: converged but unable to fit its own training rows; "
                   "over-fitting: a large train-test gap or a test loss turning upward."))
    return B


def _tables(res: ComparisonResult) -> list[tuple]:
    classes = res.data.class_names
    paper = res.paper
    B: list[tuple] = [("h", 2, "Tables 1-2: per-class precision, recall and specificity")]
    if paper is not None:
        B.append(("p", "Pooled over all folds (the summed confusion matrix); the paper's "
                       "published values in brackets. " + paper["note"]))
    else:
        B.append(("p", "Pooled over all folds (the summed confusion matrix). The paper's "
                       "published values are not shown: they were measured on SFEW, and this "
                       f"run's data ({res.data.source}) is not SFEW, so they are not "
                       "comparable (give --sfew when the data is SFEW)."))
    names = [] if paper is None else list(paper["class_names"])
    for m in res.statistics.metrics:
        ref = None if paper is None else paper.get(m.model)
        rows = []
        for metric, values in m.per_class:
            rows.append([metric] + [  # the paper's value of the same class, by name
                f"{v:.2f} ({ref[metric][names.index(c)]:.2f})" if ref is not None and c in names
                else f"{v:.2f}" for c, v in zip(classes, values)])
        B.append(("h", 3, m.model))
        B.append(("table", [""] + list(classes), rows))
    if paper is not None:
        bp, rn = paper["bp-paper"], paper["resnet18"]
        B.append(("p", f"The paper reports train/test accuracy {_pct(bp['train_accuracy'])} / "
                       f"{_pct(bp['test_accuracy'])} for its BP network (below chance) and "
                       f"about {_pct(rn['train_accuracy'])} / {_pct(rn['test_accuracy'])} for "
                       "its ResNet."))
    return B


def _bp_studies(res: ComparisonResult) -> list[tuple]:
    s = res.studies
    if s is None:
        return []
    bp = s.settings
    n_classes = len(res.data.class_names)
    B: list[tuple] = [("h", 2, "The BP network (bp-paper) and the paper's side studies")]
    B.append(("p", f"{bp['n_inputs']}-{bp['n_hidden']}-{n_classes}, {bp['hidden']} hidden "
                   f"and {bp['output']} output units, {bp['loss']} loss, {bp['optimizer']} "
                   f"(lr {bp['lr']:g}), {bp['epochs']} full-batch epochs, inputs normalised per "
                   "fold on its training rows (skewed features log-transformed), all folds of "
                   "a repeat trained as one stack. Its class probabilities are its sigmoid "
                   "outputs divided by their sum."))
    B.append(("img", "fig1_normalisation", CAPTIONS["fig1_normalisation"]))
    stuck = []
    for o in s.optimisers:
        near = [abs(v - s.constant_loss) <= 0.05 * s.constant_loss for v in o.train_loss_mean]
        if sum(near) >= len(near) / 2:  # a plateau there, not a curve passing through it
            stuck.append(f"{o.name} (ends at {o.train_loss_mean[-1]:.3f})")
    text = (f"The black line of Fig. 2 is the loss of predicting every class's frequency for "
            f"every image, {s.constant_loss:g} (the mean over classes of p times one minus p, "
            "p the class shares: the lowest loss a prediction that ignores the inputs can "
            "reach). ")
    text += ("Stuck at it (within five per cent of it for at least half of the epochs): "
             + "; ".join(stuck) + ". These optimisers learnt the class frequencies and "
             "little of the features." if stuck else "No optimiser stalls at it.")
    B.append(("p", text))
    B.append(("img", "fig2_optimisers", CAPTIONS["fig2_optimisers"]))
    B.append(("h", 3, "Pruning"))
    for c in s.pruning:
        if c.units_removed_mean == 0:
            comment = ("No unit qualified: every hidden unit stayed distinct, so pruning "
                       "changed nothing (a single point in Fig. 4).")
        elif c.units_removed_mean < 1:
            comment = "Almost nothing qualified: pruning barely changes the network."
        else:
            comment = "Here pruning really removes units."
        B.append(("p", f"{c.label}: {c.units_removed_mean:.2f} of {c.n_hidden} hidden units "
                       f"removed per fold on average; test accuracy {_pct(c.test_accuracy[0])} "
                       f"before, {_pct(c.test_accuracy[-1])} after. {comment}"))
    B.append(("img", "fig4_pruning", CAPTIONS["fig4_pruning"]))
    return B


def _models(res: ComparisonResult) -> list[tuple]:
    B: list[tuple] = [("h", 2, "The models")]
    for m in res.models:
        B.append(("p", f"{m.name} ({m.input}): {m.description}. Recipe: {m.why}."))
        train: dict[str, Any] | None = m.recipe.get("train") if m.name == "resnet18" else None
        if train is not None:
            B.append(("p", f"ResNet recipe: width {train['width']} (channels of the first "
                           f"stage, doubled at each later stage), {train['stem']} stem (the "
                           "first layers: imagenet = a large strided convolution and max-pool, "
                           f"small = one small convolution), {train['size']} px input, "
                           f"{train['epochs']} epochs, batch {train['batch_size']}, AdamW lr "
                           f"{train['lr']:g} with weight decay {train['weight_decay']:g} "
                           "(decoupled shrinkage of the weights at every step), label smoothing "
                           f"{train['label_smoothing']:g} (that share of the target spread "
                           f"over all classes), dropout {train['dropout']:g} before the "
                           f"classifier, mixup/cutmix on {_pct(train['augment']['mix_prob'])} "
                           "of samples (two images blended or patched together, labels mixed "
                           "alike); trained from scratch."))
    return B


def blocks(res: ComparisonResult, figures: dict[str, str]) -> list[tuple]:
    """The whole report; figures that were not drawn are left out."""
    data, sp = res.data, res.splits
    quick = bool(res.settings.get("quick"))
    B: list[tuple] = [("p", SMOKE_RUN)] if quick else []
    B.append(("h", 1, f"Model comparison: facial expressions, {data.source}"))
    B.append(("p", f"{data.n} images, {len(data.class_names)} classes, {data.n_groups} groups; "
                   f"{sp.repeats} x {sp.k}-fold {sp.kind} cross-validation (seed {sp.seed}); "
                   "every model was scored on exactly the same test images in every fold. "
                   f"Chance (the largest class) is {_pct(data.chance)}. Device: "
                   f"{res.settings['device']}; run time {res.timing['total_seconds']:.0f} s."))
    for note in data.notes:
        B.append(("p", f"Data note: {note}"))
    B += _leaderboard(res)
    if not quick:  # a smoke run's numbers mean nothing: no conclusion from them
        B += _conclusion(res)
    B += _pairwise(res)
    B += _diagnosis(res)
    B += _tables(res)
    B += _models(res)
    B += _bp_studies(res)
    B.append(("h", 2, "Curves, confusion and calibration"))
    for name in ("fig5_loss", "fig6_accuracy", "confusion", "reliability"):
        B.append(("img", name, CAPTIONS[name]))
    return [b for b in B if b[0] != "img" or b[1] in figures]
