"""Final models: after cross-validation, each chosen recipe refitted on every row and saved.

``fer-compare --save-models`` calls :func:`save_compare_models` (the paper's BP network as a
:class:`bpnet.pipeline.FeaturePipeline`, ``bp-tuned``'s and ``bp-descriptors``' ensembles as
:class:`bpnet.pipeline_models.EnsemblePipeline` s, ``linear-descriptors`` as a
:class:`bpnet.pipeline_models.LinearPipeline` and each image model, ``resnet18``,
``resnet18-reg``, ``cnn-small`` and ``googlenet``, as a
:class:`resnet_fer.model_file.ResNetModel`); ``resnet-fer train --final`` calls
:func:`save_resnet_models`. Each model goes to ``<out>/models/`` with a markdown model card
beside it (:func:`resnet_fer.model_card.model_card`).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .model_card import model_card

__all__ = ["IMAGE_MODELS", "SAVABLE", "save_compare_models", "save_resnet_models"]

MODELS = "models"
#: The contenders ``--save-models`` refits and saves; those of the first two read the BP
#: features, so none is saved when the features come from a sheet (``--features``).
SAVABLE = ("bp-paper", "bp-tuned", "bp-descriptors", "linear-descriptors", "resnet18",
           "resnet18-reg", "cnn-small", "googlenet")
#: The image models among them (one :class:`resnet_fer.model_file.ResNetModel` file each):
#: the file's stem and the card's title.
IMAGE_MODELS = {"resnet18": ("resnet", "ResNet"),
                "resnet18-reg": ("resnet18-reg", "Regularised ResNet (resnet18-reg)"),
                "cnn-small": ("cnn-small", "Shallow CNN (cnn-small)"),
                "googlenet": ("googlenet", "GoogLeNet from scratch (googlenet)")}


def _data_facts(source: str, y: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    return {"source": source, "n": int(len(y)),
            "class_counts": np.bincount(y, minlength=len(class_names)).tolist()}


def _bp_images(source, features, data) -> tuple[list | None, int | None, str | None]:
    """The images the BP features were computed from, their size, or why there are none.

    ``source`` and ``features`` are the run's image folder and feature sheet (None: not
    given), as its result's settings record them.
    """
    if source is None:  # the synthetic faces: described as generated, 64 px
        return list(data.images), int(data.images.shape[1]), None
    if features is not None:
        return None, None, ("the BP networks (bp-paper, bp-tuned) were trained on the sheet's "
                            "features (--features), which cannot be computed from new images; "
                            "no BP model was saved")
    from bpnet.data.image_folder import scan_image_folder
    from bpnet.data.sfew import sample_ids

    scan = scan_image_folder(source)  # as fer-compare's features: whole files, own size
    where = dict(zip(sample_ids(scan.names, scan.y, scan.class_names), scan.paths))
    return [where[i] for i in data.ids], None, None


def _inner_kind(model_run) -> str:
    """The inner folds' kind the cross-validation used for this model (its folds' choice)."""
    kinds = [info.get("inner") for info in model_run.info if info.get("inner")]
    return Counter(kinds).most_common(1)[0][0] if kinds else "stratified"


def save_compare_models(run, data, result, device: str, progress: bool, say) -> list[Path]:
    """``fer-compare --save-models``: refit each model of :data:`SAVABLE` that ran on all
    rows, save it and write its card.

    ``result`` is the run's :class:`~bpnet.comparison.ComparisonResult`: each card quotes
    its model's fold accuracies from it, each refit uses its model's recorded recipe and
    the run's seed, and the BP network's images are found from its recorded inputs.
    Returns the paths written (models and cards).
    """
    from bpnet.pipeline import fit_pipeline
    from bpnet.pruning import DistinctivenessPruner

    names = [m.name for m in result.models]
    run.file(MODELS).mkdir(exist_ok=True)
    protocol = (f"{result.splits.repeats} x {result.splits.k}-fold {result.splits.kind}, "
                f"seed {result.splits.seed}")
    facts = _data_facts(data.source, data.y, data.class_names)
    written: list[Path] = []
    skipped = [n for n in names if n not in SAVABLE]
    if skipped:
        say(f"  note: --save-models saves {', '.join(SAVABLE)} only; not {', '.join(skipped)}")
    seed = result.splits.seed
    on_features = {"bp-paper", "bp-tuned"} & set(names)
    images, size, why_not = (_bp_images(result.settings["data"], result.settings["features"], data)
                             if on_features else (None, None, None))
    if why_not is not None:
        say(f"  note: {why_not}")
    if why_not is None and "bp-paper" in names:
        bp = result.model("bp-paper")
        settings = {k: v for k, v in bp.recipe.items() if k != "epochs_per_round"}
        per_round = bp.recipe.get("epochs_per_round", 50)
        recipe = {**settings, "prune": "distinctiveness (the paper's rule)",
                  "epochs_per_round": per_round, "random_state": seed, "normalize": True,
                  "size": size}
        say(f"  final BP network on all {len(data.y)} images")
        pipeline = fit_pipeline(images, data.y, data.class_names, size=size,
                                prune=DistinctivenessPruner(), epochs_per_round=per_round,
                                random_state=seed, progress=progress,
                                info={"recipe": recipe, "data": facts}, **settings)
        card = model_card(title="BP network (LPQ + PHOG features, the paper's network, pruned)",
                          model_file="bp.npz", kind="BP pipeline: descriptors, PCA, normaliser, "
                          "network (.npz)", data=facts, recipe=recipe,
                          cv=bp.result,
                          protocol=protocol, class_names=data.class_names,
                          notes=[f"hidden units after pruning: {pipeline.net.n_live_units()}"])
        written += _saved(run, pipeline, "bp.npz", card)
    if why_not is None and "bp-tuned" in names:
        written += _save_tuned(run, data, result, images, size, facts, protocol, progress, say)
    if "bp-descriptors" in names:
        written += _save_descriptors(run, data, result, facts, protocol, progress, say)
    if "linear-descriptors" in names:
        written += _save_linear(run, data, result, facts, protocol, progress, say)
    for name in (n for n in IMAGE_MODELS if n in names):
        written += _save_image(run, data, result, name, device, facts, protocol, progress, say)
    return written


def _save_tuned(run, data, result, images, size, facts, protocol, progress, say) -> list[Path]:
    """``bp-tuned``: the nested search on inner folds of all rows, its chosen ensemble."""
    from .contenders.bp_tuned import fit_final as fit_tuned

    bt, seed = result.model("bp-tuned"), result.splits.seed
    kind = _inner_kind(bt)
    recipe = {**bt.recipe, "inner": kind, "random_state": seed, "size": size}
    say(f"  final bp-tuned ensemble on all {len(data.y)} images ({kind} inner folds)")
    model = fit_tuned(images, data.y, data.groups, data.class_names, bt.recipe, kind=kind,
                      seed=seed, size=size, crop={"face_crop": "none"}, progress=progress,
                      info={"recipe": recipe, "data": facts})
    chose = model.info["chosen"]
    card = model_card(title="BP ensemble (bp-tuned: the nested grid's chosen setting, its "
                      "inner models averaged)", model_file="bp-tuned.npz",
                      kind="BP ensemble pipeline: descriptors, PCA, a normaliser and network "
                      "per member (.npz)", data=facts, recipe=recipe, cv=bt.result,
                      protocol=protocol, class_names=data.class_names,
                      notes=[_ensemble_note(kind, chose)])
    return _saved(run, model, "bp-tuned.npz", card)


def _ensemble_note(kind: str, chose: dict, first: str = "") -> str:
    """The card's line on what an ensemble's inner folds chose (``first``: more of it)."""
    setting = ", ".join(f"{k} {v}" for k, v in chose["chosen"].items())
    return (f"chosen on {kind} inner folds of all images: {first}{setting} (inner accuracy "
            f"{chose['inner_accuracy']:.1%}); {chose['ensemble_members']} networks averaged")


def _saved(run, model, file: str, card: str) -> list[Path]:
    """``model`` saved as ``models/<file>`` and its card beside it (``<stem>.md``)."""
    return [model.save(run.file(f"{MODELS}/{file}")),
            run.write_text(f"{MODELS}/{Path(file).stem}.md", card)]


def _run_crop(result) -> dict:
    """How the run cut the images of its image and descriptor models (its preset's crop)."""
    from .config import DataConfig, get_preset

    preset = result.settings.get("preset")
    return {**(get_preset(preset).data if preset is not None else DataConfig()).__dict__}


def _save_descriptors(run, data, result, facts, protocol, progress, say) -> list[Path]:
    """``bp-descriptors``: components and network chosen on inner folds of all rows."""
    from .contenders.bp_descriptors import fit_final as fit_descriptors

    bd, seed = result.model("bp-descriptors"), result.splits.seed
    crop = _run_crop(result)
    if crop["gray"] or crop["equalize"]:  # no preset tones today; the ensemble could not
        say("  note: bp-descriptors was not saved: its images were toned (grey or "
            "equalised), which its model file cannot do to new images")
        return []
    kind = _inner_kind(bd)
    recipe = {**bd.recipe, "inner": kind, "random_state": seed}
    say(f"  final bp-descriptors ensemble on all {len(data.y)} images ({kind} inner folds)")
    model = fit_descriptors(data.images, data.y, data.groups, data.class_names, bd.recipe,
                            kind=kind, seed=seed, crop=crop, progress=progress,
                            info={"recipe": recipe, "data": facts})
    chose = model.info["chosen"]
    card = model_card(title="BP ensemble on principal components of the full LPQ + PHOG "
                      "descriptors (bp-descriptors)", model_file="bp-descriptors.npz",
                      kind="BP ensemble pipeline: descriptors, PCA, a normaliser and network "
                      "per member (.npz)", data=facts,
                      recipe={**recipe, "data": crop, "size": model.size}, cv=bd.result,
                      protocol=protocol, class_names=data.class_names,
                      notes=[_ensemble_note(kind, chose, f"{chose['n_components']} "
                                                          "components per descriptor, ")])
    return _saved(run, model, "bp-descriptors.npz", card)


def _save_linear(run, data, result, facts, protocol, progress, say) -> list[Path]:
    """``linear-descriptors``: descriptor set and L2 chosen on inner folds of all rows."""
    from .contenders.linear_descriptors import fit_final as fit_linear

    lin, seed = result.model("linear-descriptors"), result.splits.seed
    kind = _inner_kind(lin)
    crop = _run_crop(result)
    recipe = {**lin.recipe, "inner": kind, "random_state": seed}
    say(f"  final linear-descriptors model on all {len(data.y)} images ({kind} inner folds)")
    model = fit_linear(data.images, data.y, data.groups, data.class_names, lin.recipe,
                       kind=kind, seed=seed, crop=crop, progress=progress,
                       info={"recipe": recipe, "data": facts})
    chose = model.info["chosen"]
    card = model_card(title="Softmax regression on descriptors (linear-descriptors)",
                      model_file="linear.npz", kind="linear pipeline: descriptor blocks, "
                      "standardiser, softmax regression (.npz)", data=facts,
                      recipe={**recipe, "data": crop, "size": model.size}, cv=lin.result,
                      protocol=protocol, class_names=data.class_names,
                      notes=[f"chosen on {kind} inner folds of all images: descriptors "
                             f"{chose['blocks']}, L2 strength {chose['alpha']}"])
    return _saved(run, model, "linear.npz", card)


def _save_image(run, data, result, name: str, device, facts, protocol, progress,
                say) -> list[Path]:
    """An image model (:data:`IMAGE_MODELS`): its cross-validated recipe on every image.

    The recipe is read as the folds read it (:mod:`resnet_fer.contenders._image_fold`):
    ``resnet18`` keeps its :class:`~resnet_fer.config.TrainConfig` fields under ``"train"``,
    the others are flat with ``gray``; the images are the run's (its preset's crop) toned
    as the recipe says, and the model file keeps that crop and tone for new images.
    """
    from .config import DataConfig
    from .contenders._image_fold import recipe_config, recipe_images
    from .model_file import fit_final

    run_model, seed = result.model(name), result.splits.seed
    flat = dict(run_model.recipe.get("train", run_model.recipe))
    config = recipe_config(flat, seed)
    preset = result.settings.get("preset")
    crop = _run_crop(result)
    crop = DataConfig(**{**crop, "gray": crop["gray"] or bool(flat.get("gray", False))})
    stem, title = IMAGE_MODELS[name]
    recipe = {"train": config.to_dict(), "data": {**crop.__dict__}, "preset": preset}
    say(f"  final {name} on all {len(data.y)} images ({config.epochs} epochs)")
    model = fit_final(recipe_images(data.images, flat), data.y, config, device,
                      class_names=data.class_names, data=crop, progress=progress,
                      info={"recipe": recipe, "data": facts})
    file = stem + (".safetensors" if _has_safetensors() else ".pt")
    shape = f"{config.size} px" + (f", width {config.width}" if config.arch != "googlenet" else "")
    card = model_card(title=f"{title} ({shape}{', grey' if crop.gray else ''})",
                      model_file=file, kind=f"{config.arch} weights, recipe, crop settings "
                      "and class names", data=facts, recipe=recipe, cv=run_model.result,
                      protocol=protocol, class_names=data.class_names)
    return _saved(run, model, file, card)


def _has_safetensors() -> bool:
    try:
        import safetensors.torch  # noqa: F401
    except ImportError:
        return False
    return True


def save_resnet_models(run, data, configs: Sequence, results: Sequence, device, *,
                       crop, protocol: str, progress: bool, is_main: bool = True) -> list[Path]:
    """``resnet-fer train --final``: one final model per seed (``configs[i]``, ``results[i]``).

    Every rank trains (under DDP the batches are sharded); rank 0 (``is_main``) writes
    ``models/resnet.<ext>`` (``resnet-seed<S>`` with several seeds) and its card.
    """
    from .model_file import fit_final

    facts = _data_facts(data.source, np.asarray(data.y), data.class_names)
    ext = ".safetensors" if _has_safetensors() else ".pt"
    written: list[Path] = []
    if is_main:
        run.file(MODELS).mkdir(exist_ok=True)
    for config, result in zip(configs, results):
        stem = "resnet" if len(configs) == 1 else f"resnet-seed{config.seed}"
        recipe = {"train": config.to_dict(), "data": {**crop.__dict__}}
        model = fit_final(data.images, data.y, config, device, class_names=data.class_names,
                          data=crop, progress=progress, info={"recipe": recipe, "data": facts})
        if not is_main:
            continue
        written.append(model.save(run.file(f"{MODELS}/{stem}{ext}")))
        notes = ([f"seed {config.seed} of {len(configs)}: the cross-validated figure is this "
                  "seed's own, not the ensemble's"] if len(configs) > 1 else [])
        card = model_card(title=f"ResNet ({config.size} px, width {config.width}, seed "
                          f"{config.seed})", model_file=f"{stem}{ext}", kind="ResNet weights, "
                          "recipe, crop settings and class names", data=facts, recipe=recipe,
                          cv=result, protocol=protocol,
                          class_names=data.class_names, notes=notes)
        written.append(run.write_text(f"{MODELS}/{stem}.md", card))
    return written
