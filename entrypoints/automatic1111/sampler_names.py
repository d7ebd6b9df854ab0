"""AUTOMATIC1111's sampler names, read as our schedulers.

One table, `application.image_metadata.A1111_SAMPLERS` (our name -> A1111's label), as our
PNGs write it; here it is read the other way, case-insensitively, with the aliases A1111
lists for each sampler ("k_euler_a", ...) and our own names too.

AUTOMATIC1111 1.9 split the sampler ("Euler a") from its noise schedule (`scheduler`:
"Automatic", "Karras", ...). We have no separate noise schedules: "Automatic" (or none)
is what we do anyway; any other is ignored, and said so.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from application.image_metadata import A1111_SAMPLERS
from entrypoints.echoed_values import shown

# A1111's own aliases (modules/sd_samplers_kdiffusion.py, sd_samplers_timesteps.py).
_ALIASES: dict[str, tuple[str, ...]] = {
    "euler_a": ("k_euler_a", "k_euler_ancestral", "euler ancestral"),
    "euler": ("k_euler",),
    "ddim": (),
    "pndm": (),
    "lcm": ("k_lcm",),
}

_BY_NAME: dict[str, str] = {}
for _ours, _label in A1111_SAMPLERS.items():
    for _name in (_label, _ours, *_ALIASES.get(_ours, ())):
        _BY_NAME[_name.casefold()] = _ours

_DEFAULT_SCHEDULES = {"", "automatic"}


@dataclass(frozen=True)
class SamplerChoice:
    scheduler: str | None
    """Our scheduler's name; None: the model's own."""
    warnings: tuple[str, ...] = ()


def choose_scheduler(
    sampler_name: str | None,
    sampler_index: str | None,
    noise_schedule: str | None,
    offered: Collection[str],
) -> SamplerChoice:
    """Our scheduler for A1111's ``sampler_name`` (else ``sampler_index``, its older
    name), among those the loaded engine ``offered``. None given: the model's own, which
    suits a few-step model better than A1111's "Euler". An unknown name, or one the engine
    lacks, falls back to the model's own with a warning."""
    warnings: list[str] = []
    asked = sampler_name or sampler_index
    scheduler: str | None = None
    if asked:
        known = _BY_NAME.get(asked.strip().casefold())
        if known is None:
            warnings.append(
                f"sampler {shown(asked)} is unknown here: the model's own scheduler ran"
            )
        elif known not in offered:
            warnings.append(
                f"sampler {shown(asked)} is not offered by the loaded engine: the model's own "
                "scheduler ran"
            )
        else:
            scheduler = known
    if noise_schedule is not None and noise_schedule.strip().casefold() not in _DEFAULT_SCHEDULES:
        warnings.append(
            f"ignored: scheduler {shown(noise_schedule)} (the sampler's own schedule ran)"
        )
    return SamplerChoice(scheduler, tuple(warnings))
