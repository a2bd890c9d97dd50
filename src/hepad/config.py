"""Config validation with one-line errors (the JSON schema; what a schema cannot express is checked
by each study's plan: hepad.resonant.plan, hepad.calo.plan)."""

from __future__ import annotations

import jsonschema
import yaml

from hepad.errors import InputError


def _where(err: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in err.absolute_path) or "(top level)"


def run_dirs(run: str) -> tuple[str, str, str, str]:
    """(work, results, logs, benchmarks) folders of a run, relative to the working directory."""
    return f"work/{run}", f"results/{run}", f"logs/{run}", f"benchmarks/{run}"


def require_a_study(config: dict) -> None:
    """A config runs the resonant study, the CaloFlow study or both; with neither it would plan nothing."""
    if not config.get("resonant") and not config.get("calo"):
        raise InputError("config: no study: expected a `resonant` section (with `data` and `samples`), a `calo` "
                         "section, or both")


def validate_config(config: dict, schema_path) -> dict:
    """Fill schema defaults into `config` and check it; raise InputError naming key and value."""
    with open(schema_path) as f:
        schema = yaml.safe_load(f)
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    err = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if err is not None:
        raise InputError(_message(err))
    return config


def _message(err: jsonschema.ValidationError) -> str:
    """One line naming the key; a whole section is never printed."""
    where = _where(err)
    key = lambda k: k if where == "(top level)" else f"{where}.{k}"  # noqa: E731
    if err.validator == "required":
        missing = [k for k in err.validator_value if k not in err.instance]
        return f"config: {key(missing[0])}: missing; it is required (the schema has no default for it)"
    if err.validator == "dependentRequired":
        needs = err.validator_value  # {key: [keys it needs]}
        have = next(k for k in needs if k in err.instance)
        missing = [k for k in needs[have] if k not in err.instance]
        return f"config: {key(missing[0])}: missing; the `{have}` section needs it"
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        unknown = sorted(set(err.instance) - allowed)
        return (f"config: {key(unknown[0])}: unknown key ('{unknown[0]}' was unexpected); expected one of "
                f"{', '.join(sorted(allowed))}")
    value = err.instance if not isinstance(err.instance, (dict, list)) or len(repr(err.instance)) < 80 else "..."
    return f"config: {where} = {value!r}: {err.message}" if value != "..." else f"config: {where}: {err.message}"


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
