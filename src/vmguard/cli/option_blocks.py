"""Blocks of options several commands take together, declared once.

A block decorator replaces one placeholder parameter of a command (``opening: ImageChoice``,
``advisories: AdvisoryChoice`` in ``advisory_options``) with the block's options, in place,
so typer lists them where the placeholder stood; when the command runs, the options' values
come back as one frozen choice object. Building the choice does no work (no file is read):
the command decides when, so its checks run in the order it had with the options spelled
out.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

from vmguard.cli.options import (
    AllowDir,
    ImageFormat,
    Isolated,
    KeyFile,
    VolumePassphraseFile,
    image_options,
)

if TYPE_CHECKING:
    from vmguard.inspection import ImageOptions

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class ImageChoice:
    """How the user asked images to be opened: the image options block."""

    image_format: ImageFormat = None
    allow_dir: AllowDir = None
    key_file: KeyFile = None
    passphrase_file: VolumePassphraseFile = None
    isolated: Isolated = False

    def options(self) -> ImageOptions:
        """The ``ImageOptions`` (reads the key and passphrase files)."""
        return image_options(
            self.image_format, self.allow_dir, self.key_file, self.passphrase_file, self.isolated
        )


BLOCK_DEFAULT_IMAGES = ImageChoice()
"""A placeholder default: the block decorator always passes the values the user gave."""


def option_block(
    choice: type[Any], placeholder: str
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """A decorator putting ``choice``'s fields (each annotated with its option) in place of
    a command's ``placeholder`` parameter, and passing them back as one ``choice``."""
    hints = get_type_hints(choice, include_extras=True)
    options = [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                          annotation=hints[f.name])
        for f in fields(choice)
    ]  # fmt: skip

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        signature = inspect.signature(command, eval_str=True)
        if placeholder not in signature.parameters:
            raise TypeError(f"{command.__name__} has no {placeholder!r} parameter")
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            if param.name == placeholder:
                params += options
            else:
                params.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY))

        @functools.wraps(command)
        def run(**values: Any) -> R:
            block = choice(**{p.name: values.pop(p.name) for p in options})
            return command(**values, **{placeholder: block})

        run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        return run

    return decorate


def with_image_options(command: Callable[..., R]) -> Callable[..., R]:
    """Give a command the image options (--image-format, --allow-dir, --key-file,
    --passphrase-file, --isolated) in place of its ``opening: ImageChoice`` parameter."""
    return option_block(ImageChoice, "opening")(command)
