"""Hatch build hook: a wheel without the front-end bundle fails the build, not the user.

hatch-jupyter-builder runs ``npm install`` and ``npm run build`` in ``js/`` and
then checks that its ``ensured-targets`` exist on disk. That check is skipped
altogether when ``SKIP_JUPYTER_BUILDER`` is set, accepts an empty file, and
looks at the source tree rather than at the wheel. This hook runs after it,
opens the finished wheel and fails when one of those same targets is missing
from the wheel or empty, deleting the broken wheel so nothing can install it.

It does not build anything and does not check editable installs (those use the
files in the checkout, and the widget says so when they are missing).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

HOW_TO_BUILD = (
    "Building the wheel needs Node.js 18+ and npm on the PATH: the build runs "
    "`npm install` and `npm run build` in js/ (write the bundle by hand with "
    "`cd js && npm ci && npm run build`)."
)


def missing_from_wheel(wheel: Path, targets: list[str]) -> list[str]:
    """The ``targets`` (paths in the source tree) absent from ``wheel`` or empty in it."""
    with zipfile.ZipFile(wheel) as archive:
        sizes = {info.filename: info.file_size for info in archive.infolist()}
    return [target for target in targets if sizes.get(target, 0) == 0]


class BundleCheckHook(BuildHookInterface):
    """Fail the wheel build when the front-end bundle did not make it into the wheel."""

    PLUGIN_NAME = "custom"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        builder = self.build_config.hook_config.get("jupyter-builder", {})
        targets = list(builder.get("ensured-targets", []))
        if not targets:
            raise RuntimeError(
                "hatch_build.py: no ensured-targets under the jupyter-builder hook in pyproject.toml; "
                "list the bundle's files there so a wheel without them fails to build"
            )
        wheel = Path(artifact_path)
        missing = missing_from_wheel(wheel, targets)
        if missing:
            wheel.unlink()
            raise RuntimeError(
                f"the wheel {wheel.name} lacks the front-end bundle (missing or empty: "
                f"{', '.join(missing)}), so the widget could not be drawn; the wheel was deleted. "
                + HOW_TO_BUILD
            )
