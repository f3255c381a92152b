"""Repo ids (``ORG/NAME``): huggingface_hub's own validator, plus no ``.``/``..``/``.git`` component,
so that a repo id can never name a path outside ``models/`` of a local hub directory."""

import huggingface_hub.utils as hf_utils  # lazy: the validator loads on first use, not at import

from ..errors import InvalidArgumentError


def check_repo_id(repo_id: object) -> tuple[str, str]:
    """``(org, name)`` of a valid repo id; ``InvalidArgumentError`` naming it otherwise."""
    hint = "use ORG/NAME, e.g. resnet-zoo/resnet50.a1_in1k"
    if not isinstance(repo_id, str):
        raise InvalidArgumentError(f"repo id {repo_id!r} is invalid: not a str; {hint}")
    org, _, name = repo_id.partition("/")
    if not org or not name or "/" in name:
        raise InvalidArgumentError(f"repo id {repo_id!r} is invalid; {hint}")
    bad = [part for part in (org, name) if part in (".", "..") or part.lower().startswith(".git")]
    if bad:
        raise InvalidArgumentError(f"repo id {repo_id!r} is invalid: component {bad[0]!r} is not allowed; {hint}")
    try:
        hf_utils.validate_repo_id(repo_id)
    except hf_utils.HFValidationError as e:
        raise InvalidArgumentError(f"repo id {repo_id!r} is invalid: {e}; {hint}") from None
    return org, name
