"""Config validation with one-line errors (the JSON schema; what a schema cannot express is checked
by each study's plan: hepad.resonant.plan, hepad.calo.plan)."""

from __future__ import annotations

import jsonschema
import yaml

from hepad.errors import InputError


def _where(err: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in err.absolute_path) or "(top level)"


def validate_config(config: dict, schema_path) -> dict:
    """Fill schema defaults into `config` and check it; raise InputError naming key and value."""
    with open(schema_path) as f:
        schema = yaml.safe_load(f)
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    err = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if err is not None:
        raise InputError(f"config: {_where(err)} = {err.instance!r}: {err.message}")
    return config


def _with_defaults(cls):
    """A validator that also writes the schema's `default` values into the instance."""
    validate_props = cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(name, sub["default"])
        yield from validate_props(validator, properties, instance, schema)

    return jsonschema.validators.extend(cls, {"properties": set_defaults})
