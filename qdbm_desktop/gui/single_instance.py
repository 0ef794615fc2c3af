"""One app per app-data folder: a second start hands over to the running one and brings it to the front.

A lock file in the app-data folder says whether an instance runs; a local socket named after the
folder lets a second start ask it to show its window, then exit.
"""

from __future__ import annotations

import getpass
import hashlib
import sys
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from qdbm_desktop.core.paths import make_private, private_folder

_ACTIVATE = b"activate\n"
_CONNECT_TIMEOUT_MS = 1500


def server_name(home: Path, platform: str = sys.platform) -> str:
    """A socket name unique to this user and app-data folder (and short enough for every OS).

    On Windows and macOS, whose file systems ignore case, ``C:\\Users\\Ana`` and ``c:\\users\\ana``
    are one folder, so they get one name; a second start finds the running app either way.
    """
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name (a stripped container): the folder still tells apart
        user = "user"
    folder = str(home.resolve())
    if platform in ("win32", "darwin"):
        folder, user = folder.casefold(), user.casefold()
    digest = hashlib.sha256(f"{user}\0{folder}".encode()).hexdigest()[:16]
    return f"qdbm-desktop-{digest}"


class SingleInstance(QObject):
    """Owns the lock and the socket of the running instance.

    Signals: ``activation_requested()`` when another start asks this instance to come to the front.
    """

    activation_requested = Signal()

    def __init__(self, home: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = server_name(home)
        private_folder(home)
        self._lock_path = home / "app.lock"
        self._lock = QLockFile(str(self._lock_path))
        # A lock left by a crashed instance is taken over (QLockFile checks the process is gone).
        self._lock.setStaleLockTime(0)
        self._server: QLocalServer | None = None

    def acquire(self) -> bool:
        """True when this is the only instance (it then listens for others); False when one runs."""
        if not self._lock.tryLock(100):
            if self._lock.error() == QLockFile.LockError.LockFailedError:
                return False  # held by a running instance
            # The lock file cannot be written (a full or read-only disk): the socket alone says
            # whether an instance runs, so that the app still starts.
            probe = QLocalSocket()
            probe.connectToServer(self._name)
            if probe.waitForConnected(_CONNECT_TIMEOUT_MS // 3):
                probe.abort()
                return False
        # QLockFile creates it with the umask's permissions.
        make_private(self._lock_path)
        # A socket file left by a crashed instance would make listen() fail.
        QLocalServer.removeServer(self._name)
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_server_new_connection)
        self._server.listen(self._name)
        return True

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None
        self._lock.unlock()

    def activate_running(self) -> bool:
        """Ask the running instance to show its window; True when it answered."""
        socket = QLocalSocket()
        socket.connectToServer(self._name)
        if not socket.waitForConnected(_CONNECT_TIMEOUT_MS):
            return False
        socket.write(_ACTIVATE)
        socket.flush()
        socket.waitForBytesWritten(_CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        return True

    def _on_server_new_connection(self) -> None:
        server = self._server
        if server is None:
            return
        while server.hasPendingConnections():
            connection = server.nextPendingConnection()
            connection.readyRead.connect(self._on_connection_ready_read)
            connection.disconnected.connect(connection.deleteLater)

    def _on_connection_ready_read(self) -> None:
        connection = self.sender()
        if not isinstance(connection, QLocalSocket):
            return
        if bytes(connection.readAll().data()).startswith(b"activate"):
            self.activation_requested.emit()
