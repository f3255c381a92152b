"""build-hub: convert, check and publish many weights into a local hub directory, then load each
back through ``create_model`` and ``torch.hub.load`` and compare with the origin's outputs."""

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ParityMismatchError, SyntheticWeightsWarning
from ..factory import create_model
from .convert import DEFAULT_SOURCE, convert, parity_input
from .parity import RTOL
from .publish import publish, select_tags


@dataclass(frozen=True)
class HubRow:
    name: str
    size_mb: float
    revision: str
    max_abs_diff: float
    loaded_diff: float
    hub_diff: float | None


def build_hub(
    to: str | Path,
    patterns: list[str] | None = None,
    source: str = DEFAULT_SOURCE,
    seed: int = 0,
    progress: bool = True,
) -> list[HubRow]:
    """Convert, check and publish every selected weight into the local hub ``to``; then load each
    back through ``create_model`` and ``torch.hub.load`` and compare with timm's outputs."""
    from tqdm.auto import tqdm

    to = Path(to)
    to.mkdir(parents=True, exist_ok=True)
    hubconf_dir = Path(__file__).resolve().parents[2]
    has_hubconf = (hubconf_dir / "hubconf.py").exists()
    rows = []
    for tag in tqdm(select_tags(patterns), desc="build-hub", unit="weight", disable=not progress):
        with tempfile.TemporaryDirectory(prefix=".build-", dir=to) as tmp:
            result = convert(tag, Path(tmp) / "out", source=source, seed=seed)
            published = publish(result.out_dir, to=to)
        x, _ = parity_input(published)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntheticWeightsWarning)  # the command says so once, not per load
            ref = result.reference(x)
            loaded = create_model(tag, pretrained=True, hub_dir=str(to))
            loaded_diff = (loaded(x) - ref).abs().max().item()
            hub_diff = None
            if has_hubconf:
                hub_model = torch.hub.load(
                    str(hubconf_dir),
                    published.arch,
                    source="local",
                    trust_repo=True,
                    pretrained=True,
                    weights=published.tag,
                    hub_dir=str(to),
                )
                hub_diff = (hub_model(x) - ref).abs().max().item()
        scale = ref.abs().max().item()
        if loaded_diff > RTOL * scale or (hub_diff is not None and hub_diff > RTOL * scale):
            raise ParityMismatchError(
                f"{tag}: the published weight loads back with max |delta| {loaded_diff:.3e} "
                f"(torch.hub {hub_diff}) against timm"
            )
        rows.append(
            HubRow(
                tag,
                published.hub.size / 2**20,
                published.hub.revision,
                result.parity.max_abs_diff or 0.0,
                loaded_diff,
                hub_diff,
            )
        )
    return rows
