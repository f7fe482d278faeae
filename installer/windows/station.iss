; Inno Setup 6 script for the Enrollment Station on Windows (64-bit).
;
; Packs the PyInstaller onedir bundle (station.exe for the command line, station-gui.exe for the
; window, _internal\) into one setup program. Before installing it checks what the station needs
; from Windows and says how to get what is missing:
;   - Apple Mobile Device Support (the usbmuxd service on 127.0.0.1:27015): from Apple's
;     "Apple Devices" app (Microsoft Store) or iTunes for Windows. Without it no iPad is seen.
;   - A USB driver for Android's adb interface: Google's USB driver or the tablet maker's. adb
;     itself is in the bundle. Many tablets get a WinUSB driver from Windows Update by themselves.
; Missing pieces do not stop the installation (a station may serve only one kind of tablet).
;
; Build (see installer/README.md and .github/workflows/release-windows.yml):
;   iscc /DAppVersion=0.1.0 /DBundleDir=C:\path\to\dist\station /DIconFile=C:\path\station.ico
;        /DOutputDir=C:\path\to\out installer\windows\station.iss

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef BundleDir
  #define BundleDir AddBackslash(SourcePath) + "..\..\build\dist\station"
#endif
#ifndef IconFile
  #define IconFile AddBackslash(SourcePath) + "..\..\build\icon\station.ico"
#endif
#ifndef OutputDir
  #define OutputDir AddBackslash(SourcePath) + "..\..\build\installer"
#endif

#define AppName "Enrollment Station"
#define AppPublisher "Enrollment Station developers"
#define AppURL "https://github.com/enrollment-station/enrollment-station"
#define AppleDevicesURL "https://apps.microsoft.com/detail/9np83lwlpz9k"
#define ITunesURL "https://www.apple.com/itunes/download/win64"
#define GoogleUsbDriverURL "https://developer.android.com/studio/run/win-usb"
#define OemUsbDriversURL "https://developer.android.com/studio/run/oem-usb"

[Setup]
; A fixed AppId keeps upgrades in place: never change it.
AppId={{6C1B5E0A-3D8F-4B7E-9E55-2F0C8A7D4E31}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
AppPublisherURL={#AppURL}
AppSupportURL={#AppURL}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Per-machine install: the station is shared by whoever sits at the cart.
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=enrollment-station-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\station-gui.exe
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
#if FileExists(AddBackslash(SourcePath) + "..\..\LICENSE")
LicenseFile=..\..\LICENSE
#endif

[Languages]
Name: "en"; MessagesFile: "compiler:Default.isl"
Name: "de"; MessagesFile: "compiler:Languages\German.isl"

[CustomMessages]
en.PrereqTitle=What the station needs from Windows
en.PrereqDescription=Setup has looked for the drivers the station uses to talk to tablets.
en.AppleFound=Apple Mobile Device Support: found. iPads can be used.
en.AppleMissing=Apple Mobile Device Support: NOT FOUND. Without it the station sees no iPad.%nInstall "Apple Devices" from the Microsoft Store, or iTunes for Windows from apple.com, then restart the station. Setup can open the download page at the end.
en.AdbFound=Android USB driver (adb interface): found. Android tablets can be used.
en.AdbMissing=Android USB driver (adb interface): not found. Many tablets get a driver from Windows Update when first plugged in; if a tablet shows up in Device Manager as "ADB Interface" with a warning sign, install Google's USB driver or the tablet maker's driver (Samsung, Lenovo, ...). Setup can open the download page at the end.
en.AdbBundled=The adb program itself comes with the station; nothing else to install for it.
en.OpenApplePage=Open the download page for Apple Mobile Device Support
en.OpenAdbPage=Open the download page for Android USB drivers
en.LaunchStation=Start the Enrollment Station
de.PrereqTitle=Was die Station von Windows braucht
de.PrereqDescription=Setup hat nach den Treibern gesucht, über die die Station mit Tablets spricht.
de.AppleFound=Apple Mobile Device Support: gefunden. iPads können eingerichtet werden.
de.AppleMissing=Apple Mobile Device Support: NICHT GEFUNDEN. Ohne ihn sieht die Station kein iPad.%nInstallieren Sie "Apple-Geräte" aus dem Microsoft Store oder iTunes für Windows von apple.com und starten Sie die Station neu. Setup kann am Ende die Download-Seite öffnen.
de.AdbFound=Android-USB-Treiber (ADB-Schnittstelle): gefunden. Android-Tablets können eingerichtet werden.
de.AdbMissing=Android-USB-Treiber (ADB-Schnittstelle): nicht gefunden. Viele Tablets bekommen beim ersten Einstecken einen Treiber über Windows Update; zeigt der Geräte-Manager ein Tablet als "ADB Interface" mit Warnzeichen, installieren Sie den USB-Treiber von Google oder vom Hersteller (Samsung, Lenovo, ...). Setup kann am Ende die Download-Seite öffnen.
de.AdbBundled=Das Programm adb selbst ist in der Station enthalten; dafür ist nichts weiter zu installieren.
de.OpenApplePage=Download-Seite für Apple Mobile Device Support öffnen
de.OpenAdbPage=Download-Seite für Android-USB-Treiber öffnen
de.LaunchStation=Einrichtungsstation starten

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\station-gui.exe"; WorkingDir: "{app}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\station-gui.exe"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{#AppleDevicesURL}"; Description: "{cm:OpenApplePage}"; Flags: postinstall shellexec skipifsilent unchecked; Check: not AppleMobileDeviceSupportFound
Filename: "{#GoogleUsbDriverURL}"; Description: "{cm:OpenAdbPage}"; Flags: postinstall shellexec skipifsilent unchecked; Check: not AndroidUsbDriverFound
Filename: "{app}\station-gui.exe"; Description: "{cm:LaunchStation}"; Flags: postinstall nowait skipifsilent

; The station's data (%LOCALAPPDATA%\enrollment-station: records database, pair records) and its
; secrets in Windows Credential Manager stay on uninstall: they are the school's records.

[Code]
const
  { Device setup class of Google's (and most OEMs') adb interface driver. }
  AndroidUsbClassKey = 'SYSTEM\CurrentControlSet\Control\Class\{3F966BD9-FA04-4EC5-991C-D326973B5128}';

var
  PrereqPage: TOutputMsgMemoWizardPage;

function ServiceExists(const Name: String): Boolean;
begin
  Result := RegKeyExists(HKLM, 'SYSTEM\CurrentControlSet\Services\' + Name);
end;

{ iTunes (and Apple's standalone MSI) register the "Apple Mobile Device Service"; the Microsoft
  Store "Apple Devices" app runs the same service from its package (the second service name below
  is a guess not verified on a machine). Any of them answers on 127.0.0.1:27015, which is all
  the station needs. }
function AppleMobileDeviceSupportFound(): Boolean;
begin
  Result := ServiceExists('Apple Mobile Device Service')
    or ServiceExists('AppleMobileDeviceService')
    or RegKeyExists(HKLM, 'SOFTWARE\Apple Inc.\Apple Mobile Device Support')
    or FileExists(ExpandConstant('{commoncf64}\Apple\Mobile Device Support\AppleMobileDeviceService.exe'));
end;

{ The class key appears once an adb interface driver that uses Google's device class (Google's
  USB driver, Samsung's and most OEM drivers) has been installed. A tablet that got plain WinUSB
  from Windows Update is not seen here: the report then says "not found" though adb may work. }
function AndroidUsbDriverFound(): Boolean;
begin
  Result := RegKeyExists(HKLM, AndroidUsbClassKey);
end;

function PrerequisiteReport(): String;
begin
  if AppleMobileDeviceSupportFound() then
    Result := CustomMessage('AppleFound')
  else
    Result := CustomMessage('AppleMissing');
  Result := Result + #13#10 + #13#10;
  if AndroidUsbDriverFound() then
    Result := Result + CustomMessage('AdbFound')
  else
    Result := Result + CustomMessage('AdbMissing') + #13#10 + '  {#GoogleUsbDriverURL}' + #13#10 + '  {#OemUsbDriversURL}';
  Result := Result + #13#10 + #13#10 + CustomMessage('AdbBundled');
  if not AppleMobileDeviceSupportFound() then
    Result := Result + #13#10 + #13#10 + 'Apple Devices: {#AppleDevicesURL}' + #13#10 + 'iTunes: {#ITunesURL}';
end;

procedure InitializeWizard();
begin
  PrereqPage := CreateOutputMsgMemoPage(wpWelcome,
    CustomMessage('PrereqTitle'), CustomMessage('PrereqDescription'), '', PrerequisiteReport());
end;

{ Silent installs (software deployment) get the report in the setup log instead of a page. }
function InitializeSetup(): Boolean;
begin
  Log(PrerequisiteReport());
  Result := True;
end;
