; Inno Setup script of QDBM Desktop for Windows: a per-user install (no administrator rights) of
; the PyInstaller folder dist\qdbm-desktop\ into %LOCALAPPDATA%\Programs\QDBM Desktop, with a
; Start-menu entry, an optional desktop shortcut, an optional start at sign-in (in the tray, with
; qdbm-desktop.exe --tray) and an uninstaller (Settings > Apps, or the Start menu).
;
;   iscc /DAppVersion=0.1.0 installer\windows\qdbm-desktop.iss
;
; writes dist\qdbm-desktop-VERSION-setup.exe. The fixed AppId makes a newer setup upgrade the
; installed copy in place. The app-data folder (%APPDATA%\QDBM Desktop: connections, schedules,
; history, the key file) is the user's and is never touched, by an upgrade or by the uninstaller.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "QDBM Desktop"
#define AppExe "qdbm-desktop.exe"
#define BundleDir "..\..\dist\qdbm-desktop"
; Drawn from resources\icons\app.svg by build_installer.spec (installer\icons.py) while building.
#ifndef IconFile
  #define IconFile "..\..\build\build_installer\icons\qdbm-desktop.ico"
#endif

[Setup]
; Never change this id: it is how a later setup finds the installed copy to upgrade.
AppId={{B962B294-84B1-422C-909C-22BBB30EDF59}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppName}
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UsePreviousAppDir=yes
UsePreviousTasks=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=qdbm-desktop-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; A running copy (its tray icon, say) holds files open: Windows' Restart Manager closes it first.
CloseApplications=yes
RestartApplications=no

[Tasks]
Name: "desktopicon"; Description: "Create a &desktop shortcut"; GroupDescription: "Shortcuts:"; Flags: unchecked
Name: "startatlogin"; Description: "&Start {#AppName} in the tray when I sign in (runs the saved schedules)"; GroupDescription: "Start-up:"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the bundle's libraries whole, so that none of an older version's stays.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; Start at sign-in: the current user's Run key, with the tray flag (the window stays hidden until
; the tray icon is clicked). Unticking the task in a later setup takes the value away again.
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "{#AppName}"; ValueData: """{app}\{#AppExe}"" --tray"; Flags: uninsdeletevalue; Tasks: startatlogin
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: none; ValueName: "{#AppName}"; Flags: deletevalue; Tasks: not startatlogin

[Run]
Filename: "{app}\{#AppExe}"; Description: "Start {#AppName} now"; Flags: nowait postinstall skipifsilent

[UninstallRun]
; The tray app would keep its files open: it is ended before they are removed.
Filename: "{sys}\taskkill.exe"; Parameters: "/IM {#AppExe} /F"; Flags: runhidden; RunOnceId: "EndTrayApp"
