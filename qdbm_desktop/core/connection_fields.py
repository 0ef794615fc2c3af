"""Which fields a connection of each engine has, which are required, and how they are checked.

The connection form (and anything else that asks for a connection's details) reads these specs
instead of comparing engine names: a field's place in a profile, whether it is needed, and the
message that says what is wrong all live here, next to the dialect registry they extend.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import MappingProxyType

from qdbm_desktop.core.dialects import DIALECTS

#: How the server is given: its host, port and database, or (Oracle) one connect descriptor.
MODE_SERVER = "server"
MODE_DSN = "dsn"

#: Field keys, in the order the form shows them.
HOST = "host"
PORT = "port"
DATABASE = "database"
DSN = "dsn"
TNS_ADMIN = "tns_admin"
PATH = "path"
DRIVER = "driver"
WINDOWS_AUTH = "windows_auth"
USER = "user"
PASSWORD = "password"
ENCRYPT = "encrypt"
TRUST_CERTIFICATE = "trust_certificate"
OPTIONS = "options"

#: Option keys the SQL Server check boxes own (ODBC keywords).
ENCRYPT_OPTION = "Encrypt"
TRUST_CERTIFICATE_OPTION = "TrustServerCertificate"
#: python-oracledb's name for the folder holding tnsnames.ora (what TNS_ADMIN points to).
TNS_ADMIN_OPTION = "config_dir"

SECRET_OPTION_HINT = "Keys containing pass, pwd, secret or token are stored encrypted."

_YES = ("yes", "true", "1", "on", "mandatory", "strict")


class Target(Enum):
    """Where a field's value goes."""

    PROFILE = "profile"  # the ConnectionProfile attribute of the field's name
    SECRET = "secret"  # stored encrypted under the field's name
    OPTION = "option"  # a driver option (``FieldSpec.option_key``)
    FORM = "form"  # steers the form only (a check box that turns fields off, the options table)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a connection form.

    ``required``: the message when the field is left empty (None: it may be empty). ``check``:
    the message for a value that cannot be right (None when it is fine). ``modes``: the connect
    modes the field belongs to (empty: every mode). ``off_when``: a check-box field that, when
    ticked, leaves this field unused. For a check box: ``flag`` holds the option values for
    ticked and not ticked (None: no option) and ``default`` its state when the option is absent.
    """

    key: str
    target: Target
    required: str | None = None
    check: Callable[[str], str | None] | None = None
    modes: frozenset[str] = frozenset()
    off_when: str | None = None
    option_key: str | None = None
    option_spellings: tuple[str, ...] = ()
    flag: tuple[str | None, str | None] | None = None
    default: bool = False

    def in_mode(self, mode: str) -> bool:
        return not self.modes or mode in self.modes


@dataclass(frozen=True)
class EngineForm:
    """The connection fields of one engine (a dialect's registry name)."""

    engine: str
    display_name: str
    default_port: int | None
    fields: tuple[FieldSpec, ...]
    modes: tuple[str, ...] = (MODE_SERVER,)
    database_label: str = "&Database:"
    database_placeholder: str = "optional: the server's default when empty"
    options_hint: str | None = None

    def field(self, key: str) -> FieldSpec | None:
        return next((spec for spec in self.fields if spec.key == key), None)

    def has(self, key: str) -> bool:
        return self.field(key) is not None

    def shown(self, mode: str) -> tuple[FieldSpec, ...]:
        """The fields the form shows in ``mode``."""
        return tuple(spec for spec in self.fields if spec.in_mode(mode))

    def in_use(self, mode: str, ticked: Collection[str] = ()) -> tuple[FieldSpec, ...]:
        """The shown fields whose values count: none turned off by a ticked check box."""
        return tuple(spec for spec in self.shown(mode) if spec.off_when not in ticked)

    @property
    def default_port_text(self) -> str:
        return str(self.default_port) if self.default_port else ""

    def problems(self, values: Mapping[str, str], *, mode: str, ticked: Collection[str] = (),
                 stored: Collection[str] = ()) -> list[tuple[str, str]]:
        """(field, message) for each field in use that is missing or wrong, in form order.

        ``values`` holds each field's text; ``stored``: the secret fields with a kept value,
        which an empty field leaves in place.
        """
        problems: list[tuple[str, str]] = []
        for spec in self.in_use(mode, ticked):
            text = values.get(spec.key, "").strip()
            if not text:
                if spec.required and spec.key not in stored:
                    problems.append((spec.key, spec.required))
                continue
            message = spec.check(text) if spec.check else None
            if message:
                problems.append((spec.key, message))
        return problems


def is_yes(value: str | None) -> bool:
    """Whether a driver option's value means "on" (yes, true, 1, mandatory ...)."""
    return (value or "").strip().casefold() in _YES


def pop_option(options: dict[str, str], *keys: str) -> str | None:
    """Remove every spelling in ``keys`` (any case: ODBC keywords are case-insensitive) and
    return the value of the last one found."""
    wanted = {key.casefold() for key in keys}
    found = None
    for existing in list(options):
        if existing.casefold() in wanted:
            found = options.pop(existing)
    return found


def option_problems(rows: Sequence[tuple[str, str, bool]]) -> list[str]:
    """What is wrong in a table of (key, value, secret) driver options: a value with no key, or
    a key given twice (keys are compared ignoring case)."""
    problems: list[str] = []
    seen: set[str] = set()
    for key, value, secret in rows:
        if not key:
            if value:
                problems.append("an option has a value but no key" if secret
                                else f"the option with value {value!r} has no key")
            continue
        if key.casefold() in seen:
            problems.append(f"the option {key!r} is given twice")
        seen.add(key.casefold())
    return problems


def port_problem(text: str) -> str | None:
    if not text.isdigit():
        return f"the port {text!r} is not a number"
    port = int(text)
    return None if 1 <= port <= 65535 else f"port {port} is out of range (1-65535)"


def folder_problem(text: str) -> str | None:
    return None if Path(text).expanduser().is_dir() else f"the folder {text} does not exist"


def database_file_problem(text: str) -> str | None:
    """A database file's path must be a file, or a new file in an existing folder."""
    path = Path(text).expanduser()
    if path.is_dir():
        return f"{path} is a folder, not a database file"
    if not path.exists() and not path.parent.is_dir():
        return f"the folder {path.parent} does not exist"
    return None


def _needs(display_name: str, what: str) -> str:
    article = "an" if display_name[0] in "AEIOU" else "a"
    return f"{article} {display_name} connection needs {what}"


def _server_fields(display_name: str, *, extra: Sequence[FieldSpec] = (),
                   after_user: Sequence[FieldSpec] = (),
                   server_only: frozenset[str] = frozenset(), database_required: bool = False,
                   ) -> tuple[FieldSpec, ...]:
    """A server engine's fields: host, port, database, user, password and options, with
    ``extra`` after the database and ``after_user`` after the password."""
    service = _needs(display_name, "a service name") if database_required else None
    return (
        FieldSpec(HOST, Target.PROFILE, required=_needs(display_name, "a host"), modes=server_only),
        FieldSpec(PORT, Target.PROFILE, check=port_problem, modes=server_only),
        FieldSpec(DATABASE, Target.PROFILE, required=service, modes=server_only),
        *extra,
        FieldSpec(USER, Target.PROFILE, off_when=WINDOWS_AUTH),
        FieldSpec(PASSWORD, Target.SECRET, off_when=WINDOWS_AUTH),
        *after_user,
        FieldSpec(OPTIONS, Target.FORM),
    )


def _server_form(engine: str, *, extra: Sequence[FieldSpec] = (), after_user: Sequence[FieldSpec] = (),
                 modes: tuple[str, ...] = (MODE_SERVER,), database_required: bool = False,
                 **looks: str) -> EngineForm:
    dialect = DIALECTS[engine]
    server_only = frozenset({MODE_SERVER}) if len(modes) > 1 else frozenset()
    fields = _server_fields(dialect.display_name, extra=extra, after_user=after_user,
                            server_only=server_only, database_required=database_required)
    return EngineForm(engine, dialect.display_name, dialect.default_port, fields, modes, **looks)


def _sqlite_form() -> EngineForm:
    dialect = DIALECTS["sqlite"]
    path = FieldSpec(PATH, Target.PROFILE, check=database_file_problem, required=_needs(
        dialect.display_name, "a database file: choose one or type a new file's path"))
    return EngineForm("sqlite", dialect.display_name, dialect.default_port, (path,))


def _oracle_form() -> EngineForm:
    dsn = FieldSpec(DSN, Target.SECRET, modes=frozenset({MODE_DSN}),
                    required="enter a DSN, an Easy Connect string or a TNS alias")
    tns_admin = FieldSpec(TNS_ADMIN, Target.OPTION, check=folder_problem, option_key=TNS_ADMIN_OPTION,
                          option_spellings=(TNS_ADMIN_OPTION,))
    return _server_form(
        "oracle", extra=(dsn, tns_admin), modes=(MODE_SERVER, MODE_DSN), database_required=True,
        database_label="&Service name:", database_placeholder="e.g. ORCLPDB1",
        options_hint="Passed to python-oracledb, e.g. wallet_location = /path/to/wallet.")


def _sqlserver_form() -> EngineForm:
    driver = FieldSpec(DRIVER, Target.PROFILE)
    windows_auth = FieldSpec(WINDOWS_AUTH, Target.FORM)
    encrypt = FieldSpec(ENCRYPT, Target.OPTION, option_key=ENCRYPT_OPTION, option_spellings=(ENCRYPT_OPTION,),
                        flag=("yes", "no"), default=True)
    # core also takes the friendly spelling of a URL's query string.
    trust = FieldSpec(TRUST_CERTIFICATE, Target.OPTION, option_key=TRUST_CERTIFICATE_OPTION,
                      option_spellings=(TRUST_CERTIFICATE_OPTION, "trust_server_certificate"),
                      flag=("yes", None))
    return _server_form(
        "sqlserver", extra=(driver, windows_auth), after_user=(encrypt, trust),
        options_hint="Added to the ODBC connection string, e.g. ApplicationIntent = ReadOnly.")


#: The form of every engine, by the dialect's registry name.
ENGINE_FORMS: Mapping[str, EngineForm] = MappingProxyType({
    "postgresql": _server_form(
        "postgresql", options_hint="Passed to libpq, e.g. sslmode = require, sslrootcert = /path/to/ca.pem."),
    "mysql": _server_form(
        "mysql", options_hint="Passed to MySQL Connector/Python, e.g. ssl_ca = /path/to/ca.pem."),
    "sqlite": _sqlite_form(),
    "sqlserver": _sqlserver_form(),
    "oracle": _oracle_form(),
})



def engine_form(engine: str) -> EngineForm | None:
    """The fields of ``engine`` (a dialect's registry name); None for an unknown one."""
    return ENGINE_FORMS.get(engine)


def form_for(engine: str) -> EngineForm:
    """The fields of ``engine``; for a type no dialect knows (one edited into the file by hand),
    the plain server fields, so that the profile can still be shown and corrected."""
    known = ENGINE_FORMS.get(engine)
    return known if known is not None else EngineForm(engine, engine, None, _server_fields(engine or "?"))


def flag_from_options(spec: FieldSpec, options: dict[str, str]) -> bool:
    """A check box's state from a profile's options, removing the options it owns."""
    value = pop_option(options, *spec.option_spellings)
    return spec.default if value is None else is_yes(value)


def flag_option(spec: FieldSpec, ticked: bool) -> str | None:
    """The option value a check box stands for (None: no option)."""
    if spec.flag is None:
        return None
    return spec.flag[0] if ticked else spec.flag[1]
