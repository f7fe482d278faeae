<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
  <context>
    <name>Checklist</name>
    <message>
      <source>Print the labels and stick them on in slot order</source>
      <translation>Etiketten drucken und in Fachreihenfolge aufkleben</translation>
    </message>
    <message>
      <source>Unplug the finished tablets</source>
      <translation>Fertige Tablets abstecken</translation>
    </message>
    <message>
      <source>Tap “Trust” on every iPad</source>
      <translation>Auf jedem iPad „Vertrauen“ tippen</translation>
    </message>
    <message>
      <source>Enable USB debugging on every Android tablet</source>
      <translation>USB-Debugging auf jedem Android-Tablet einschalten</translation>
    </message>
    <message>
      <source>Switch the tablets on: all %1 are there</source>
      <translation>Tablets einschalten: alle %1 sind da</translation>
    </message>
    <message>
      <source>Switch the tablets on: %1 not seen yet, slots %2</source>
      <translation>Tablets einschalten: %1 noch nicht erkannt, Fächer %2</translation>
    </message>
    <message>
      <source>Start the run</source>
      <translation>Durchlauf starten</translation>
    </message>
    <message>
      <source>Print the labels (%1 ready) and stick them on in slot order</source>
      <translation>Etiketten drucken (%1 bereit) und in Fachreihenfolge aufkleben</translation>
    </message>
    <message>
      <source>Unplug the finished tablets: slots %1</source>
      <translation>Fertige Tablets abstecken: Fächer %1</translation>
    </message>
    <message>
      <source>No failures</source>
      <translation>Keine Fehler</translation>
    </message>
    <message>
      <source>No failures so far</source>
      <translation>Bisher keine Fehler</translation>
    </message>
    <message>
      <source>Connect the cart to the station (%1 tablets seen)</source>
      <translation>Wagen an die Station anschließen (%1 Tablets erkannt)</translation>
    </message>
    <message>
      <source>Trust: %1 iPads left, slots %2</source>
      <translation>„Vertrauen“: noch %1 iPads, Fächer %2</translation>
    </message>
    <message>
      <source>USB debugging: %1 tablets left, slots %2</source>
      <translation>USB-Debugging: noch %1 Tablets, Fächer %2</translation>
    </message>
    <message>
      <source>done</source>
      <translation>erledigt</translation>
    </message>
    <message>
      <source>to do</source>
      <translation>offen</translation>
    </message>
    <message>
      <source>not calibrated</source>
      <translation>nicht kalibriert</translation>
    </message>
    <message>
      <source>Failed: slots %1. %2</source>
      <translation>Fehlgeschlagen: Fächer %1. %2</translation>
    </message>
  </context>
  <context>
    <name>DeviceDetail</name>
    <message>
      <source>Device</source>
      <translation>Gerät</translation>
    </message>
    <message>
      <source>Slot</source>
      <translation>Fach</translation>
    </message>
    <message>
      <source>Platform</source>
      <translation>Plattform</translation>
    </message>
    <message>
      <source>Serial number</source>
      <translation>Seriennummer</translation>
    </message>
    <message>
      <source>Asset tag</source>
      <translation>Inventarnummer</translation>
    </message>
    <message>
      <source>USB port</source>
      <translation>USB-Anschluss</translation>
    </message>
    <message>
      <source>State</source>
      <translation>Zustand</translation>
    </message>
    <message>
      <source>Retry</source>
      <translation>Wiederholen</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>Abbrechen</translation>
    </message>
    <message>
      <source>Step</source>
      <translation>Schritt</translation>
    </message>
    <message>
      <source>Result</source>
      <translation>Ergebnis</translation>
    </message>
    <message>
      <source>Seconds</source>
      <translation>Sekunden</translation>
    </message>
    <message>
      <source>Steps</source>
      <translation>Schritte</translation>
    </message>
    <message>
      <source>Log</source>
      <translation>Protokoll</translation>
    </message>
    <message>
      <source>Choose a slot to see its device.</source>
      <translation>Ein Fach wählen, um sein Gerät zu sehen.</translation>
    </message>
    <message>
      <source>not calibrated</source>
      <translation>nicht kalibriert</translation>
    </message>
    <message>
      <source>Error: %1</source>
      <translation>Fehler: %1</translation>
    </message>
    <message>
      <source>What to do: %1</source>
      <translation>Was zu tun ist: %1</translation>
    </message>
  </context>
  <context>
    <name>AndroidQr</name>
    <message>
      <source>Android enrollment QR</source>
      <translation>Android-Einrichtungscode</translation>
    </message>
    <message>
      <source>On each new tablet: tap the welcome screen six times, then scan this code.</source>
      <translation>Auf jedem neuen Tablet: sechsmal auf den Begrüßungsbildschirm tippen, dann diesen Code scannen.</translation>
    </message>
    <message>
      <source>Close</source>
      <translation>Schließen</translation>
    </message>
    <message>
      <source>The enrollment QR cannot be made: %1</source>
      <translation>Der Einrichtungscode kann nicht erstellt werden: %1</translation>
    </message>
    <message>
      <source>What to do: %1</source>
      <translation>Was zu tun ist: %1</translation>
    </message>
  </context>
  <context>
    <name>CartModel</name>
    <message>
      <source>No slot</source>
      <translation>Kein Fach</translation>
    </message>
    <message>
      <source>Slot %1</source>
      <translation>Fach %1</translation>
    </message>
  </context>
  <context>
    <name>LabelPrinting</name>
    <message>
      <source>Labels</source>
      <translation>Etiketten</translation>
    </message>
    <message>
      <source>Label preview</source>
      <translation>Etiketten-Vorschau</translation>
    </message>
  </context>
  <context>
    <name>RunControl</name>
    <message>
      <source>Run</source>
      <translation>Durchlauf</translation>
    </message>
    <message>
      <source>The blueprint for this cart</source>
      <translation>Der Bauplan für diesen Wagen</translation>
    </message>
    <message>
      <source>Open blueprint…</source>
      <translation>Bauplan öffnen …</translation>
    </message>
    <message>
      <source>Start</source>
      <translation>Starten</translation>
    </message>
    <message>
      <source>Stop</source>
      <translation>Anhalten</translation>
    </message>
    <message>
      <source>Choose a blueprint.</source>
      <translation>Einen Bauplan wählen.</translation>
    </message>
    <message>
      <source>Blueprint</source>
      <translation>Bauplan</translation>
    </message>
    <message>
      <source>Checking %1 …</source>
      <translation>Prüfe %1 …</translation>
    </message>
    <message>
      <source>Ready: %1</source>
      <translation>Bereit: %1</translation>
    </message>
    <message>
      <source>%1 cannot be used.</source>
      <translation>%1 kann nicht verwendet werden.</translation>
    </message>
    <message>
      <source>What to do: %1</source>
      <translation>Was zu tun ist: %1</translation>
    </message>
    <message>
      <source>%1 has %2 problems; fix them and choose it again. No device was touched.</source>
      <translation>%1 hat %2 Probleme; bitte beheben und erneut wählen. Kein Gerät wurde verändert.</translation>
    </message>
    <message>
      <source>expected: %1</source>
      <translation>erwartet: %1</translation>
    </message>
    <message>
      <source>hint: %1</source>
      <translation>Hinweis: %1</translation>
    </message>
  </context>
  <context>
    <name>SyncPanel</name>
    <message>
      <source>never</source>
      <translation>nie</translation>
    </message>
    <message>
      <source>%1 days ago</source>
      <translation>vor %1 Tagen</translation>
    </message>
    <message>
      <source>Sync: not read yet</source>
      <translation>Synchronisation: noch nicht gelesen</translation>
    </message>
    <message>
      <source>%1 s ago</source>
      <translation>vor %1 s</translation>
    </message>
    <message>
      <source>%1 min ago</source>
      <translation>vor %1 Min.</translation>
    </message>
    <message>
      <source>%1 h ago</source>
      <translation>vor %1 Std.</translation>
    </message>
    <message>
      <source>Last sync error (%1): %2</source>
      <translation>Letzter Synchronisationsfehler (%1): %2</translation>
    </message>
    <message>
      <source>Sync: %1 waiting (oldest %2), last success %3, %4 need a person</source>
      <translation>Synchronisation: %1 wartend (älteste: %2), letzter Erfolg: %3, %4 brauchen eine Person</translation>
    </message>
  </context>
  <context>
    <name>Technician</name>
    <message>
      <source>Save</source>
      <translation>Speichern</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>Abbrechen</translation>
    </message>
    <message>
      <source>Technician mode</source>
      <translation>Technikmodus</translation>
    </message>
    <message>
      <source>PIN</source>
      <translation>PIN</translation>
    </message>
    <message>
      <source>Enter the technician PIN.</source>
      <translation>Technik-PIN eingeben.</translation>
    </message>
    <message>
      <source>Sign in</source>
      <translation>Anmelden</translation>
    </message>
    <message>
      <source>Wrong PIN. Try again.</source>
      <translation>Falsche PIN. Bitte erneut versuchen.</translation>
    </message>
    <message>
      <source>Store a secret</source>
      <translation>Geheimnis speichern</translation>
    </message>
    <message>
      <source>name, as the blueprint writes it</source>
      <translation>Name, wie er im Bauplan steht</translation>
    </message>
    <message>
      <source>value</source>
      <translation>Wert</translation>
    </message>
    <message>
      <source>Blueprints name their secrets; the values stay on the station.</source>
      <translation>Baupläne nennen ihre Geheimnisse nur beim Namen; die Werte bleiben auf der Station.</translation>
    </message>
    <message>
      <source>Label printer</source>
      <translation>Etikettendrucker</translation>
    </message>
    <message>
      <source>None: print on paper with the print dialog</source>
      <translation>Keiner: auf Papier drucken mit dem Druckdialog</translation>
    </message>
    <message>
      <source>Brother QL (raster)</source>
      <translation>Brother QL (Raster)</translation>
    </message>
    <message>
      <source>Zebra (ZPL)</source>
      <translation>Zebra (ZPL)</translation>
    </message>
    <message>
      <source>usb://0x04f9:0x209d or tcp://192.0.2.40:9100</source>
      <translation>usb://0x04f9:0x209d oder tcp://192.0.2.40:9100</translation>
    </message>
    <message>
      <source>Brother: 62 or 29x90; Zebra: 50x25 (mm)</source>
      <translation>Brother: 62 oder 29x90; Zebra: 50x25 (mm)</translation>
    </message>
    <message>
      <source>Labels go straight to this printer; Retry prints kept ones.</source>
      <translation>Etiketten gehen direkt an diesen Drucker; „Drucken wiederholen“ druckt zurückgehaltene.</translation>
    </message>
    <message>
      <source>Printer</source>
      <translation>Drucker</translation>
    </message>
    <message>
      <source>Address</source>
      <translation>Adresse</translation>
    </message>
    <message>
      <source>Label</source>
      <translation>Etikett</translation>
    </message>
    <message>
      <source>Zebra dots per mm</source>
      <translation>Zebra-Punkte pro mm</translation>
    </message>
    <message>
      <source>Give a name (letters, digits, '-', '_', '.') and a value.</source>
      <translation>Bitte einen Namen (Buchstaben, Ziffern, „-“, „_“, „.“) und einen Wert angeben.</translation>
    </message>
  </context>
  <context>
    <name>Texts</name>
    <message>
      <source>Empty</source>
      <translation>Leer</translation>
    </message>
    <message>
      <source>Waiting</source>
      <translation>Wartet</translation>
    </message>
    <message>
      <source>Working</source>
      <translation>In Arbeit</translation>
    </message>
    <message>
      <source>Needs you</source>
      <translation>Zu tun</translation>
    </message>
    <message>
      <source>Unplugged</source>
      <translation>Abgesteckt</translation>
    </message>
    <message>
      <source>Done</source>
      <translation>Fertig</translation>
    </message>
    <message>
      <source>Failed</source>
      <translation>Fehler</translation>
    </message>
    <message>
      <source>Cancelled</source>
      <translation>Abgebrochen</translation>
    </message>
    <message>
      <source>Pairing</source>
      <translation>Koppeln</translation>
    </message>
    <message>
      <source>Erasing</source>
      <translation>Löschen</translation>
    </message>
    <message>
      <source>Activating</source>
      <translation>Aktivieren</translation>
    </message>
    <message>
      <source>Supervising</source>
      <translation>Betreuen</translation>
    </message>
    <message>
      <source>Profile</source>
      <translation>Profil</translation>
    </message>
    <message>
      <source>App</source>
      <translation>App</translation>
    </message>
    <message>
      <source>Naming</source>
      <translation>Benennen</translation>
    </message>
    <message>
      <source>Wallpaper</source>
      <translation>Hintergrundbild</translation>
    </message>
    <message>
      <source>Waiting for USB debugging</source>
      <translation>Warten auf USB-Debugging</translation>
    </message>
    <message>
      <source>Device owner</source>
      <translation>Geräteinhaber</translation>
    </message>
    <message>
      <source>Settings</source>
      <translation>Einstellungen</translation>
    </message>
    <message>
      <source>File</source>
      <translation>Datei</translation>
    </message>
    <message>
      <source>Restarting</source>
      <translation>Neustart</translation>
    </message>
    <message>
      <source>USB debugging off</source>
      <translation>USB-Debugging aus</translation>
    </message>
    <message>
      <source>Identifying</source>
      <translation>Erkennen</translation>
    </message>
    <message>
      <source>Result</source>
      <translation>Ergebnis</translation>
    </message>
    <message>
      <source>Unlock the iPad and tap Trust</source>
      <translation>iPad entsperren und auf „Vertrauen“ tippen</translation>
    </message>
    <message>
      <source>Trust was denied: unplug and plug the iPad back, then tap Trust</source>
      <translation>„Vertrauen“ wurde abgelehnt: iPad ab- und wieder anstecken, dann auf „Vertrauen“ tippen</translation>
    </message>
    <message>
      <source>Unlock the iPad</source>
      <translation>iPad entsperren</translation>
    </message>
    <message>
      <source>Unlock the tablet and tap Allow on the USB debugging prompt (tick 'Always allow')</source>
      <translation>Tablet entsperren und bei der USB-Debugging-Frage auf „Zulassen“ tippen („Immer zulassen“ ankreuzen)</translation>
    </message>
    <message>
      <source>Wait: the tablet is going away or restarting; if it stays, replug it</source>
      <translation>Warten: das Tablet trennt sich oder startet neu; bleibt es so, neu anstecken</translation>
    </message>
    <message>
      <source>Wait: the tablet is connecting</source>
      <translation>Warten: das Tablet verbindet sich</translation>
    </message>
    <message>
      <source>Turn on USB debugging: Settings &gt; About &gt; tap Build number 7 times, then Developer options &gt; USB debugging</source>
      <translation>USB-Debugging einschalten: Einstellungen &gt; Über das Tablet &gt; 7-mal auf Build-Nummer tippen, dann Entwickleroptionen &gt; USB-Debugging</translation>
    </message>
    <message>
      <source>The iPad is in recovery mode: restore it (Apple Configurator or idevicerestore), or hold the power button to restart it</source>
      <translation>Das iPad ist im Wiederherstellungsmodus: wiederherstellen (Apple Configurator oder idevicerestore) oder die Ein/Aus-Taste halten, um es neu zu starten</translation>
    </message>
    <message>
      <source>The tablet is in bootloader or recovery mode: choose 'Reboot system now' on it</source>
      <translation>Das Tablet ist im Bootloader- oder Wiederherstellungsmodus: darauf „Reboot system now“ wählen</translation>
    </message>
    <message>
      <source>The station may not open this USB device: check its udev rules</source>
      <translation>Die Station darf dieses USB-Gerät nicht öffnen: udev-Regeln prüfen</translation>
    </message>
    <message>
      <source>The tablet is on USB but its service does not see it: replug the cable, or try another port</source>
      <translation>Das Tablet hängt am USB, wird aber vom Dienst nicht erkannt: Kabel neu stecken oder anderen Anschluss versuchen</translation>
    </message>
    <message>
      <source>ready</source>
      <translation>bereit</translation>
    </message>
    <message>
      <source>waiting for Trust</source>
      <translation>wartet auf „Vertrauen“</translation>
    </message>
    <message>
      <source>waiting for USB debugging permission</source>
      <translation>wartet auf USB-Debugging-Erlaubnis</translation>
    </message>
    <message>
      <source>USB debugging is off</source>
      <translation>USB-Debugging ist aus</translation>
    </message>
    <message>
      <source>connecting</source>
      <translation>verbindet</translation>
    </message>
    <message>
      <source>offline</source>
      <translation>getrennt</translation>
    </message>
    <message>
      <source>locked</source>
      <translation>gesperrt</translation>
    </message>
    <message>
      <source>Trust denied</source>
      <translation>„Vertrauen“ abgelehnt</translation>
    </message>
    <message>
      <source>in recovery mode</source>
      <translation>im Wiederherstellungsmodus</translation>
    </message>
    <message>
      <source>in bootloader mode</source>
      <translation>im Bootloader-Modus</translation>
    </message>
    <message>
      <source>no USB permission</source>
      <translation>keine USB-Berechtigung</translation>
    </message>
    <message>
      <source>not seen by its service</source>
      <translation>vom Dienst nicht erkannt</translation>
    </message>
    <message>
      <source>plugged in</source>
      <translation>eingesteckt</translation>
    </message>
    <message>
      <source>unplugged</source>
      <translation>abgesteckt</translation>
    </message>
    <message>
      <source>error</source>
      <translation>Fehler</translation>
    </message>
    <message>
      <source>iPad</source>
      <translation>iPad</translation>
    </message>
    <message>
      <source>Android</source>
      <translation>Android</translation>
    </message>
    <message>
      <source>running</source>
      <translation>läuft</translation>
    </message>
    <message>
      <source>done</source>
      <translation>erledigt</translation>
    </message>
    <message>
      <source>already so</source>
      <translation>schon erledigt</translation>
    </message>
    <message>
      <source>failed</source>
      <translation>fehlgeschlagen</translation>
    </message>
    <message>
      <source>interrupted</source>
      <translation>unterbrochen</translation>
    </message>
  </context>
  <context>
    <name>MainWindow</name>
    <message>
      <source>Enrollment Station</source>
      <translation>Einrichtungsstation</translation>
    </message>
    <message>
      <source>Print label again</source>
      <translation>Etikett erneut drucken</translation>
    </message>
    <message>
      <source>Checklist</source>
      <translation>Checkliste</translation>
    </message>
    <message>
      <source>Device</source>
      <translation>Gerät</translation>
    </message>
    <message>
      <source>Station</source>
      <translation>Station</translation>
    </message>
    <message>
      <source>Technician mode…</source>
      <translation>Technikmodus …</translation>
    </message>
    <message>
      <source>Station settings…</source>
      <translation>Stationseinstellungen …</translation>
    </message>
    <message>
      <source>Secrets…</source>
      <translation>Geheimnisse …</translation>
    </message>
    <message>
      <source>Calibrate slots…</source>
      <translation>Fächer kalibrieren …</translation>
    </message>
    <message>
      <source>Print labels</source>
      <translation>Etiketten drucken</translation>
    </message>
    <message>
      <source>Print labels on paper…</source>
      <translation>Etiketten auf Papier drucken …</translation>
    </message>
    <message>
      <source>The labels in a preview, for any printer of the system</source>
      <translation>Die Etiketten in einer Vorschau, für jeden Drucker des Systems</translation>
    </message>
    <message>
      <source>Retry printing</source>
      <translation>Drucken wiederholen</translation>
    </message>
    <message>
      <source>Print the labels the label printer has not yet</source>
      <translation>Die Etiketten drucken, die der Etikettendrucker noch nicht gedruckt hat</translation>
    </message>
    <message>
      <source>Label printer…</source>
      <translation>Etikettendrucker …</translation>
    </message>
    <message>
      <source>Show Android enrollment QR</source>
      <translation>Android-Einrichtungscode zeigen</translation>
    </message>
    <message>
      <source>Sound</source>
      <translation>Ton</translation>
    </message>
    <message>
      <source>An audible cue when the cart is done or needs a person</source>
      <translation>Ein Signalton, wenn der Wagen fertig ist oder jemand gebraucht wird</translation>
    </message>
    <message>
      <source>Printing the kept labels…</source>
      <translation>Die zurückgehaltenen Etiketten werden gedruckt …</translation>
    </message>
    <message>
      <source>That did not work: %1</source>
      <translation>Das hat nicht geklappt: %1</translation>
    </message>
    <message>
      <source>%1 labels printed on %2.</source>
      <translation>%1 Etiketten auf %2 gedruckt.</translation>
    </message>
    <message>
      <source>Labels sent to the printer.</source>
      <translation>Etiketten an den Drucker geschickt.</translation>
    </message>
    <message>
      <source>Run ended: %1 of %2 tablets done.</source>
      <translation>Durchlauf beendet: %1 von %2 Tablets fertig.</translation>
    </message>
    <message>
      <source>Running…</source>
      <translation>Läuft …</translation>
    </message>
    <message>
      <source>A run is already going.</source>
      <translation>Es läuft schon ein Durchlauf.</translation>
    </message>
    <message>
      <source>No run is going.</source>
      <translation>Es läuft kein Durchlauf.</translation>
    </message>
    <message>
      <source>That device is not part of this run.</source>
      <translation>Dieses Gerät gehört nicht zu diesem Durchlauf.</translation>
    </message>
    <message>
      <source>The run stopped because of an error in the station.</source>
      <translation>Der Durchlauf wurde wegen eines Fehlers in der Station angehalten.</translation>
    </message>
    <message>
      <source>The station could not do that.</source>
      <translation>Das konnte die Station nicht ausführen.</translation>
    </message>
    <message>
      <source>Only a technician may do that. Sign in with the PIN.</source>
      <translation>Das darf nur die Technik. Bitte mit der PIN anmelden.</translation>
    </message>
    <message>
      <source>Stop the run before calibrating the slots.</source>
      <translation>Vor dem Kalibrieren der Fächer den Durchlauf anhalten.</translation>
    </message>
    <message>
      <source>Open blueprint</source>
      <translation>Bauplan öffnen</translation>
    </message>
    <message>
      <source>Blueprints (*.toml)</source>
      <translation>Baupläne (*.toml)</translation>
    </message>
    <message>
      <source>Labels now print with the print dialog.</source>
      <translation>Etiketten werden jetzt mit dem Druckdialog gedruckt.</translation>
    </message>
    <message>
      <source>No finished tablets to print labels for.</source>
      <translation>Keine fertigen Tablets, für die Etiketten gedruckt werden könnten.</translation>
    </message>
    <message>
      <source>The label printer is still printing: wait a moment.</source>
      <translation>Der Etikettendrucker druckt noch: bitte einen Moment warten.</translation>
    </message>
    <message>
      <source>Printing %1 labels…</source>
      <translation>%1 Etiketten werden gedruckt …</translation>
    </message>
    <message>
      <source>%1 labels are kept for the label printer: press Retry printing.</source>
      <translation>%1 Etiketten warten auf den Etikettendrucker: „Drucken wiederholen“ drücken.</translation>
    </message>
    <message>
      <source>The cart is done. Print the labels.</source>
      <translation>Der Wagen ist fertig. Bitte Etiketten drucken.</translation>
    </message>
    <message>
      <source>Slot calibration saved.</source>
      <translation>Fachkalibrierung gespeichert.</translation>
    </message>
    <message>
      <source>Leave technician mode</source>
      <translation>Technikmodus verlassen</translation>
    </message>
    <message>
      <source>Technician mode</source>
      <translation>Technikmodus</translation>
    </message>
    <message>
      <source>Helper mode: run, retry and print</source>
      <translation>Helfermodus: starten, wiederholen und drucken</translation>
    </message>
    <message>
      <source>No technician PIN is set yet: run the station setup.</source>
      <translation>Noch keine Technik-PIN gesetzt: bitte die Stationseinrichtung durchführen.</translation>
    </message>
    <message>
      <source>Labels now print on %1.</source>
      <translation>Etiketten werden jetzt auf %1 gedruckt.</translation>
    </message>
    <message>
      <source>What to do: %1</source>
      <translation>Was zu tun ist: %1</translation>
    </message>
    <message>
      <source>Slot %1 needs you: %2</source>
      <translation>Fach %1 braucht Sie: %2</translation>
    </message>
    <message>
      <source>Failed: slots %1.</source>
      <translation>Fehlgeschlagen: Fächer %1.</translation>
    </message>
    <message>
      <source>Secret saved.</source>
      <translation>Geheimnis gespeichert.</translation>
    </message>
    <message>
      <source>The labels cannot be laid out: %1</source>
      <translation>Die Etiketten lassen sich nicht anordnen: %1</translation>
    </message>
    <message>
      <source>%1 labels printed.</source>
      <translation>%1 Etiketten gedruckt.</translation>
    </message>
  </context>
  <context>
    <name>Wizards</name>
    <message>
      <source>&lt; Back</source>
      <translation>&lt; Zurück</translation>
    </message>
    <message>
      <source>Next &gt;</source>
      <translation>Weiter &gt;</translation>
    </message>
    <message>
      <source>Finish</source>
      <translation>Fertigstellen</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>Abbrechen</translation>
    </message>
    <message>
      <source>Save</source>
      <translation>Speichern</translation>
    </message>
    <message>
      <source>Help</source>
      <translation>Hilfe</translation>
    </message>
    <message>
      <source>Technician PIN</source>
      <translation>Technik-PIN</translation>
    </message>
    <message>
      <source>Settings, blueprints and secrets need this PIN. Helpers can run, retry and print.</source>
      <translation>Einstellungen, Baupläne und Geheimnisse brauchen diese PIN. Helfer können starten, wiederholen und drucken.</translation>
    </message>
    <message>
      <source>At least 4 digits; leave empty to keep the current PIN.</source>
      <translation>Mindestens 4 Ziffern; leer lassen, um die bisherige PIN zu behalten.</translation>
    </message>
    <message>
      <source>PIN</source>
      <translation>PIN</translation>
    </message>
    <message>
      <source>PIN again</source>
      <translation>PIN wiederholen</translation>
    </message>
    <message>
      <source>Set up the station</source>
      <translation>Station einrichten</translation>
    </message>
    <message>
      <source>Station</source>
      <translation>Station</translation>
    </message>
    <message>
      <source>A name people recognise, e.g. the room the cart stands in.</source>
      <translation>Ein Name, den alle kennen, z. B. der Raum, in dem der Wagen steht.</translation>
    </message>
    <message>
      <source>Station name</source>
      <translation>Stationsname</translation>
    </message>
    <message>
      <source>Hub</source>
      <translation>Zentrale</translation>
    </message>
    <message>
      <source>Where the station reports its devices (leave empty to work alone).</source>
      <translation>Wohin die Station ihre Geräte meldet (leer lassen, um allein zu arbeiten).</translation>
    </message>
    <message>
      <source>unchanged</source>
      <translation>unverändert</translation>
    </message>
    <message>
      <source>Hub address</source>
      <translation>Adresse der Zentrale</translation>
    </message>
    <message>
      <source>Hub token</source>
      <translation>Zugangsschlüssel der Zentrale</translation>
    </message>
    <message>
      <source>Cart</source>
      <translation>Wagen</translation>
    </message>
    <message>
      <source>How the slots are arranged on the cart, seen from the front.</source>
      <translation>Wie die Fächer im Wagen angeordnet sind, von vorn gesehen.</translation>
    </message>
    <message>
      <source>Calibrate the slots next (plug a tablet into each slot)</source>
      <translation>Danach die Fächer kalibrieren (in jedes Fach ein Tablet stecken)</translation>
    </message>
    <message>
      <source>Rows</source>
      <translation>Reihen</translation>
    </message>
    <message>
      <source>Columns</source>
      <translation>Spalten</translation>
    </message>
    <message>
      <source>Calibrate the slots</source>
      <translation>Fächer kalibrieren</translation>
    </message>
    <message>
      <source>Skip this slot</source>
      <translation>Dieses Fach überspringen</translation>
    </message>
    <message>
      <source>Back one slot</source>
      <translation>Ein Fach zurück</translation>
    </message>
    <message>
      <source>Start with every slot empty. Plug one tablet at a time, in slot order.</source>
      <translation>Mit leeren Fächern beginnen. Ein Tablet nach dem anderen einstecken, in Fachreihenfolge.</translation>
    </message>
    <message>
      <source>All slots are calibrated. Press Finish.</source>
      <translation>Alle Fächer sind kalibriert. Bitte „Fertigstellen“ drücken.</translation>
    </message>
    <message>
      <source>Plug a tablet into slot %1</source>
      <translation>Ein Tablet in Fach %1 stecken</translation>
    </message>
    <message>
      <source>%1 of %2 slots calibrated</source>
      <translation>%1 von %2 Fächern kalibriert</translation>
    </message>
  </context>
  <context>
    <name>Messages</name>
    <message>
      <source>empty</source>
      <translation>leer</translation>
    </message>
    <message>
      <source>a string</source>
      <translation>ein Text</translation>
    </message>
    <message>
      <source>a string {value}</source>
      <translation>ein Text {value}</translation>
    </message>
    <message>
      <source>a boolean</source>
      <translation>ein Wahrheitswert</translation>
    </message>
    <message>
      <source>a boolean {value}</source>
      <translation>ein Wahrheitswert {value}</translation>
    </message>
    <message>
      <source>a whole number</source>
      <translation>eine ganze Zahl</translation>
    </message>
    <message>
      <source>a whole number {value}</source>
      <translation>eine ganze Zahl {value}</translation>
    </message>
    <message>
      <source>a number</source>
      <translation>eine Zahl</translation>
    </message>
    <message>
      <source>a number {value}</source>
      <translation>eine Zahl {value}</translation>
    </message>
    <message>
      <source>an array</source>
      <translation>eine Liste</translation>
    </message>
    <message>
      <source>a table</source>
      <translation>eine Tabelle</translation>
    </message>
    <message>
      <source>a value of type {type}</source>
      <translation>ein Wert vom Typ {type}</translation>
    </message>
    <message>
      <source>none</source>
      <translation>keine</translation>
    </message>
    <message>
      <source>No such file or directory</source>
      <translation>Datei oder Ordner nicht gefunden</translation>
    </message>
    <message>
      <source>Permission denied</source>
      <translation>Zugriff verweigert</translation>
    </message>
    <message>
      <source>Is a directory</source>
      <translation>ist ein Ordner</translation>
    </message>
    <message>
      <source>Not a directory</source>
      <translation>ist kein Ordner</translation>
    </message>
    <message>
      <source>Input/output error</source>
      <translation>Ein-/Ausgabefehler</translation>
    </message>
    <message>
      <source>File name too long</source>
      <translation>Dateiname zu lang</translation>
    </message>
    <message>
      <source>is {kind}</source>
      <translation>ist {kind}</translation>
    </message>
    <message>
      <source>unknown key</source>
      <translation>unbekannter Schlüssel</translation>
    </message>
    <message>
      <source>unknown key, did you mean '{suggestion}'?</source>
      <translation>unbekannter Schlüssel, meinten Sie '{suggestion}'?</translation>
    </message>
    <message>
      <source>missing key '{key}'</source>
      <translation>Schlüssel '{key}' fehlt</translation>
    </message>
    <message>
      <source>contains a control character</source>
      <translation>enthält ein Steuerzeichen</translation>
    </message>
    <message>
      <source>'{value}' has the wrong form</source>
      <translation>'{value}' hat nicht die richtige Form</translation>
    </message>
    <message>
      <source>'{file}' has the wrong file type</source>
      <translation>'{file}' hat den falschen Dateityp</translation>
    </message>
    <message>
      <source>cannot open '{file}': {reason}</source>
      <translation>'{file}' lässt sich nicht öffnen: {reason}</translation>
    </message>
    <message>
      <source>file '{file}' does not exist (looked at {path})</source>
      <translation>Datei '{file}' gibt es nicht (gesucht unter {path})</translation>
    </message>
    <message>
      <source>cannot read {file}: {reason}</source>
      <translation>{file} lässt sich nicht lesen: {reason}</translation>
    </message>
    <message>
      <source>cannot read: {reason}</source>
      <translation>lässt sich nicht lesen: {reason}</translation>
    </message>
    <message>
      <source>not UTF-8 text</source>
      <translation>kein UTF-8-Text</translation>
    </message>
    <message>
      <source>not valid TOML: {reason}</source>
      <translation>kein gültiges TOML (Meldung des Lesers: {reason})</translation>
    </message>
    <message>
      <source>{reason} (column {column})</source>
      <translation>{reason} (Spalte {column})</translation>
    </message>
    <message>
      <source>not valid TOML: nested too deeply</source>
      <translation>kein gültiges TOML: zu tief verschachtelt</translation>
    </message>
    <message>
      <source>the blueprint has neither an [ios] nor an [android] section</source>
      <translation>der Bauplan hat weder einen Abschnitt [ios] noch [android]</translation>
    </message>
    <message>
      <source>{number} has more than {digits} digits</source>
      <translation>{number} hat mehr als {digits} Stellen</translation>
    </message>
    <message>
      <source>profile {identifier} is listed twice</source>
      <translation>Profil {identifier} steht doppelt in der Liste</translation>
    </message>
    <message>
      <source>app {app} is listed twice</source>
      <translation>App {app} steht doppelt in der Liste</translation>
    </message>
    <message>
      <source>secret '{name}' is not stored on this station</source>
      <translation>Geheimnis '{name}' ist auf dieser Station nicht gespeichert</translation>
    </message>
    <message>
      <source>'{key}' is not an iOS skip key</source>
      <translation>'{key}' ist kein Überspringen-Schlüssel für iOS</translation>
    </message>
    <message>
      <source>unknown skip key '{key}'</source>
      <translation>unbekannter Überspringen-Schlüssel '{key}'</translation>
    </message>
    <message>
      <source>unknown skip key '{key}', did you mean '{suggestion}'?</source>
      <translation>unbekannter Überspringen-Schlüssel '{key}', meinten Sie '{suggestion}'?</translation>
    </message>
    <message>
      <source>a signed profile cannot have secrets filled in (that would break its signature)</source>
      <translation>in ein signiertes Profil lassen sich keine Geheimnisse einsetzen (das würde die Signatur zerstören)</translation>
    </message>
    <message>
      <source>no payload in {file} has a '{key}' key to fill in</source>
      <translation>keine Nutzlast in {file} hat einen Schlüssel '{key}' zum Ausfüllen</translation>
    </message>
    <message>
      <source>'{value}' is not a component name</source>
      <translation>'{value}' ist kein Komponentenname</translation>
    </message>
    <message>
      <source>package {package} is not among android.apps (their packages: {packages})</source>
      <translation>Paket {package} ist nicht unter android.apps (deren Pakete: {packages})</translation>
    </message>
    <message>
      <source>'{name}' is not a setting name</source>
      <translation>'{name}' ist kein Einstellungsname</translation>
    </message>
    <message>
      <source>'{name}' is not a setting name, did you mean '{suggestion}'?</source>
      <translation>'{name}' ist kein Einstellungsname, meinten Sie '{suggestion}'?</translation>
    </message>
    <message>
      <source>{reason} (write {{ or }} for a literal brace)</source>
      <translation>Fehler in der Vorlage (Meldung: {reason}; für eine geschweifte Klammer {{ oder }} schreiben)</translation>
    </message>
    <message>
      <source>unknown placeholder {{{name}}}</source>
      <translation>unbekannter Platzhalter {{{name}}}</translation>
    </message>
    <message>
      <source>unknown placeholder {{{name}}} (did you mean {{{suggestion}}}?)</source>
      <translation>unbekannter Platzhalter {{{name}}} (meinten Sie {{{suggestion}}}?)</translation>
    </message>
    <message>
      <source>placeholder {{{name}}} takes no format or conversion</source>
      <translation>Platzhalter {{{name}}} nimmt kein Format und keine Umwandlung</translation>
    </message>
    <message>
      <source>every device would get the same name</source>
      <translation>alle Geräte bekämen denselben Namen</translation>
    </message>
    <message>
      <source>1 problem</source>
      <translation>1 Problem</translation>
    </message>
    <message>
      <source>{count} problems</source>
      <translation>{count} Probleme</translation>
    </message>
    <message>
      <source>a non-empty string</source>
      <translation>ein nicht leerer Text</translation>
    </message>
    <message>
      <source>true or false</source>
      <translation>true oder false</translation>
    </message>
    <message>
      <source>a whole number from {low} to {high}</source>
      <translation>eine ganze Zahl von {low} bis {high}</translation>
    </message>
    <message>
      <source>a number of seconds from {low} to {high}</source>
      <translation>eine Anzahl Sekunden von {low} bis {high}</translation>
    </message>
    <message>
      <source>a path to a {suffix} file, relative to the blueprint</source>
      <translation>ein Pfad zu einer {suffix}-Datei, vom Bauplan aus gesehen</translation>
    </message>
    <message>
      <source>a path to a file, relative to the blueprint</source>
      <translation>ein Pfad zu einer Datei, vom Bauplan aus gesehen</translation>
    </message>
    <message>
      <source>the name of a secret stored on this station</source>
      <translation>der Name eines auf dieser Station gespeicherten Geheimnisses</translation>
    </message>
    <message>
      <source>one of {choices}</source>
      <translation>einer von: {choices}</translation>
    </message>
    <message>
      <source>a valid {suffix} file</source>
      <translation>eine gültige {suffix}-Datei</translation>
    </message>
    <message>
      <source>a valid configuration profile</source>
      <translation>ein gültiges Konfigurationsprofil</translation>
    </message>
    <message>
      <source>a PEM certificate and key</source>
      <translation>ein PEM-Zertifikat mit Schlüssel</translation>
    </message>
    <message>
      <source>"all", "none" or an array of Setup Assistant skip keys</source>
      <translation>"all", "none" oder eine Liste von Überspringen-Schlüsseln des Einrichtungsassistenten</translation>
    </message>
    <message>
      <source>a skip key string</source>
      <translation>ein Überspringen-Schlüssel als Text</translation>
    </message>
    <message>
      <source>one of Apple's SkipKeys (see station.blueprint.IOS_SKIP_KEYS)</source>
      <translation>einer von Apples SkipKeys (siehe station.blueprint.IOS_SKIP_KEYS)</translation>
    </message>
    <message>
      <source>a table of key = secret</source>
      <translation>eine Tabelle aus Schlüssel = Geheimnis</translation>
    </message>
    <message>
      <source>an unsigned profile</source>
      <translation>ein unsigniertes Profil</translation>
    </message>
    <message>
      <source>a key present (as a placeholder) in one of the profile's payloads</source>
      <translation>ein Schlüssel, der (als Platzhalter) in einer Nutzlast des Profils steht</translation>
    </message>
    <message>
      <source>a component "package/.Receiver" or "package/full.class.Name"</source>
      <translation>eine Komponente "paket/.Receiver" oder "paket/voller.Klassen.Name"</translation>
    </message>
    <message>
      <source>the device-owner app to be installed by this blueprint</source>
      <translation>die Geräteinhaber-App, die dieser Bauplan installiert</translation>
    </message>
    <message>
      <source>a table of "namespace.key" = value</source>
      <translation>eine Tabelle aus "namensraum.schlüssel" = Wert</translation>
    </message>
    <message>
      <source>namespace.key with namespace {choices}</source>
      <translation>namensraum.schlüssel mit Namensraum {choices}</translation>
    </message>
    <message>
      <source>a string, whole number or boolean</source>
      <translation>ein Text, eine ganze Zahl oder ein Wahrheitswert</translation>
    </message>
    <message>
      <source>an absolute path on the tablet, e.g. "/sdcard/Download/info.pdf"</source>
      <translation>ein absoluter Pfad auf dem Tablet, z. B. "/sdcard/Download/info.pdf"</translation>
    </message>
    <message>
      <source>a TOML file saved as UTF-8</source>
      <translation>eine als UTF-8 gespeicherte TOML-Datei</translation>
    </message>
    <message>
      <source>a name template</source>
      <translation>eine Namensvorlage</translation>
    </message>
    <message>
      <source>placeholders from {placeholders}</source>
      <translation>Platzhalter aus {placeholders}</translation>
    </message>
    <message>
      <source>1-32 letters, digits, '-' or '_' (the school number, e.g. SEG042)</source>
      <translation>1–32 Buchstaben, Ziffern, '-' oder '_' (die Schulnummer, z. B. SEG042)</translation>
    </message>
    <message>
      <source>up to 24 letters, digits or . _ / -</source>
      <translation>bis zu 24 Buchstaben, Ziffern oder . _ / -</translation>
    </message>
    <message>
      <source>the https address tablets download the device-owner APK from</source>
      <translation>die https-Adresse, von der die Tablets die Geräteinhaber-APK laden</translation>
    </message>
    <message>
      <source>'{url}' is not an https address</source>
      <translation>'{url}' ist keine https-Adresse</translation>
    </message>
    <message>
      <source>an https URL such as "https://mdm.example.org/agent.apk"</source>
      <translation>eine https-Adresse wie "https://mdm.example.org/agent.apk"</translation>
    </message>
    <message>
      <source>tablets refuse to download the device-owner app over plain http</source>
      <translation>Tablets laden die Geräteinhaber-App nicht über einfaches http</translation>
    </message>
    <message>
      <source>a Wi-Fi password must not be written into the blueprint</source>
      <translation>ein WLAN-Passwort darf nicht im Bauplan stehen</translation>
    </message>
    <message>
      <source>wifi_password_secret = the name of a secret stored on this station</source>
      <translation>wifi_password_secret = der Name eines auf dieser Station gespeicherten Geheimnisses</translation>
    </message>
    <message>
      <source>store the password with: station secrets set NAME</source>
      <translation>das Passwort speichern mit: station secrets set NAME</translation>
    </message>
    <message>
      <source>is longer than 32 bytes</source>
      <translation>ist länger als 32 Bytes</translation>
    </message>
    <message>
      <source>a Wi-Fi network name</source>
      <translation>ein WLAN-Name</translation>
    </message>
    <message>
      <source>'{value}' is not a locale</source>
      <translation>'{value}' ist keine Sprach- und Ländereinstellung</translation>
    </message>
    <message>
      <source>language_COUNTRY as Android writes it, e.g. "de_DE"</source>
      <translation>sprache_LAND, wie Android es schreibt, z. B. "de_DE"</translation>
    </message>
    <message>
      <source>'{value}' is not a time zone</source>
      <translation>'{value}' ist keine Zeitzone</translation>
    </message>
    <message>
      <source>an IANA time zone name, e.g. "Europe/Berlin"</source>
      <translation>ein IANA-Zeitzonenname, z. B. "Europe/Berlin"</translation>
    </message>
    <message>
      <source>EAP networks are not supported in the enrollment QR yet</source>
      <translation>EAP-Netze gehen im Einrichtungs-QR-Code noch nicht</translation>
    </message>
    <message>
      <source>is {kind}, not a Wi-Fi security type Android knows</source>
      <translation>ist {kind}, keine WLAN-Sicherheitsart, die Android kennt</translation>
    </message>
    <message>
      <source>is not a secret name (is it the password itself?)</source>
      <translation>ist kein Name eines Geheimnisses (ist es das Passwort selbst?)</translation>
    </message>
    <message>
      <source>the name of a secret stored on this station, e.g. "wlan-schule"</source>
      <translation>der Name eines auf dieser Station gespeicherten Geheimnisses, z. B. "wlan-schule"</translation>
    </message>
    <message>
      <source>use 1-64 letters, digits, '.', '_' or '-'; store the password with: station secrets set NAME</source>
      <translation>1–64 Buchstaben, Ziffern, '.', '_' oder '-' verwenden; das Passwort speichern mit: station secrets set NAME</translation>
    </message>
    <message>
      <source>Wi-Fi security or password given without wifi_ssid</source>
      <translation>WLAN-Sicherheit oder Passwort angegeben, aber keine wifi_ssid</translation>
    </message>
    <message>
      <source>wifi_ssid</source>
      <translation>wifi_ssid (der Name des WLANs)</translation>
    </message>
    <message>
      <source>a password is given for an open network (wifi_security = "NONE")</source>
      <translation>für ein offenes Netz (wifi_security = "NONE") ist ein Passwort angegeben</translation>
    </message>
    <message>
      <source>no password, or wifi_security WPA or WEP</source>
      <translation>kein Passwort, oder wifi_security WPA oder WEP</translation>
    </message>
    <message>
      <source>a {security} network needs a password</source>
      <translation>ein {security}-Netz braucht ein Passwort</translation>
    </message>
    <message>
      <source>wifi_password_secret = the name of the secret holding it</source>
      <translation>wifi_password_secret = der Name des Geheimnisses, das es enthält</translation>
    </message>
    <message>
      <source>a table of text, numbers, true/false or nested tables</source>
      <translation>eine Tabelle aus Texten, Zahlen, true/false oder weiteren Tabellen</translation>
    </message>
    <message>
      <source>text, a number, true/false or a table</source>
      <translation>ein Text, eine Zahl, true/false oder eine Tabelle</translation>
    </message>
    <message>
      <source>fix the blueprint and load it again; no device was touched</source>
      <translation>Bauplan korrigieren und neu laden; kein Gerät wurde verändert</translation>
    </message>
    <message>
      <source>store it with: station secrets set {name}</source>
      <translation>speichern mit: station secrets set {name}</translation>
    </message>
    <message>
      <source>invalid secret name '{name}'</source>
      <translation>ungültiger Name für ein Geheimnis: '{name}'</translation>
    </message>
    <message>
      <source>use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit</source>
      <translation>1–64 Buchstaben, Ziffern, '.', '_' oder '-' verwenden, am Anfang ein Buchstabe oder eine Ziffer</translation>
    </message>
    <message>
      <source>secret '{name}' is not stored on this station ({location})</source>
      <translation>Geheimnis '{name}' ist auf dieser Station nicht gespeichert ({location})</translation>
    </message>
    <message>
      <source>secret '{name}' must be a non-empty text value</source>
      <translation>Geheimnis '{name}' muss ein nicht leerer Text sein</translation>
    </message>
    <message>
      <source>{file} is not a valid secrets file</source>
      <translation>{file} ist keine gültige Geheimnis-Datei</translation>
    </message>
    <message>
      <source>restore it from a backup or delete it and store the secrets again</source>
      <translation>aus einer Sicherung wiederherstellen oder löschen und die Geheimnisse neu speichern</translation>
    </message>
    <message>
      <source>the keyring could not read secret '{name}': {error}</source>
      <translation>der Schlüsselbund konnte Geheimnis '{name}' nicht lesen (technisch: {error})</translation>
    </message>
    <message>
      <source>the keyring could not store secret '{name}': {error}</source>
      <translation>der Schlüsselbund konnte Geheimnis '{name}' nicht speichern (technisch: {error})</translation>
    </message>
    <message>
      <source>the keyring could not delete secret '{name}': {error}</source>
      <translation>der Schlüsselbund konnte Geheimnis '{name}' nicht löschen (technisch: {error})</translation>
    </message>
    <message>
      <source>the keyring could not list the secret names: {error}</source>
      <translation>der Schlüsselbund konnte die Namen der Geheimnisse nicht auflisten (technisch: {error})</translation>
    </message>
    <message>
      <source>the keyring could not store the secret names: {error}</source>
      <translation>der Schlüsselbund konnte die Namen der Geheimnisse nicht speichern (technisch: {error})</translation>
    </message>
    <message>
      <source>unlock the keyring, or run the station with the file fallback</source>
      <translation>Schlüsselbund entsperren oder die Station mit der Ersatzdatei betreiben</translation>
    </message>
    <message>
      <source>keyring {backend} (service '{service}')</source>
      <translation>Schlüsselbund {backend} (Dienst '{service}')</translation>
    </message>
    <message>
      <source>file {path}</source>
      <translation>Datei {path}</translation>
    </message>
    <message>
      <source>secret '{name}' is not a supervision identity: expected one PEM certificate and one PEM private key, found {certificates} and {keys}</source>
      <translation>Geheimnis '{name}' ist keine Betreuungs-Identität: erwartet sind ein PEM-Zertifikat und ein privater PEM-Schlüssel, gefunden wurden {certificates} und {keys}</translation>
    </message>
    <message>
      <source>secret '{name}' holds a PEM block that does not parse</source>
      <translation>Geheimnis '{name}' enthält einen PEM-Block, der sich nicht lesen lässt</translation>
    </message>
    <message>
      <source>secret '{name}': the private key does not belong to the certificate</source>
      <translation>Geheimnis '{name}': der private Schlüssel gehört nicht zum Zertifikat</translation>
    </message>
    <message>
      <source>store a PEM file with the certificate and its unencrypted private key</source>
      <translation>eine PEM-Datei mit dem Zertifikat und seinem unverschlüsselten privaten Schlüssel speichern</translation>
    </message>
    <message>
      <source>file not found</source>
      <translation>Datei nicht gefunden</translation>
    </message>
    <message>
      <source>not a zip archive ({reason})</source>
      <translation>kein ZIP-Archiv (technisch: {reason})</translation>
    </message>
    <message>
      <source>unreadable archive ({reason})</source>
      <translation>Archiv nicht lesbar (technisch: {reason})</translation>
    </message>
    <message>
      <source>rebuild or re-download the .ipa</source>
      <translation>die .ipa neu erstellen oder neu herunterladen</translation>
    </message>
    <message>
      <source>{count} entries is too many for an app</source>
      <translation>{count} Einträge sind zu viele für eine App</translation>
    </message>
    <message>
      <source>{entry} expands suspiciously (zip bomb?)</source>
      <translation>{entry} wird beim Entpacken verdächtig groß (ZIP-Bombe?)</translation>
    </message>
    <message>
      <source>unpacks to {size} bytes, more than any iPad holds</source>
      <translation>wird entpackt {size} Bytes groß, mehr als auf ein iPad passt</translation>
    </message>
    <message>
      <source>no Payload/&lt;Name&gt;.app folder inside</source>
      <translation>kein Ordner Payload/&lt;Name&gt;.app darin</translation>
    </message>
    <message>
      <source>no Payload/&lt;Name&gt;.app/Info.plist inside</source>
      <translation>keine Payload/&lt;Name&gt;.app/Info.plist darin</translation>
    </message>
    <message>
      <source>more than one app in Payload/</source>
      <translation>mehr als eine App in Payload/</translation>
    </message>
    <message>
      <source>Info.plist is {size} bytes, too large</source>
      <translation>Info.plist ist {size} Bytes groß, zu groß</translation>
    </message>
    <message>
      <source>Info.plist cannot be extracted ({reason})</source>
      <translation>Info.plist lässt sich nicht entpacken (technisch: {reason})</translation>
    </message>
    <message>
      <source>Info.plist is larger than it claims</source>
      <translation>Info.plist ist größer als angegeben</translation>
    </message>
    <message>
      <source>Info.plist is not a property list ({reason})</source>
      <translation>Info.plist ist keine Property-Liste (technisch: {reason})</translation>
    </message>
    <message>
      <source>Info.plist is not a dictionary</source>
      <translation>Info.plist ist kein Verzeichnis (dictionary)</translation>
    </message>
    <message>
      <source>Info.plist has no CFBundleIdentifier</source>
      <translation>Info.plist hat keinen CFBundleIdentifier</translation>
    </message>
    <message>
      <source>too many zip entries</source>
      <translation>zu viele Einträge im ZIP-Archiv</translation>
    </message>
    <message>
      <source>no AndroidManifest.xml: not an APK</source>
      <translation>keine AndroidManifest.xml: keine APK</translation>
    </message>
    <message>
      <source>{entry} is implausibly large</source>
      <translation>{entry} ist unglaubwürdig groß</translation>
    </message>
    <message>
      <source>{entry} is not a PKCS#7 block</source>
      <translation>{entry} ist kein PKCS#7-Block</translation>
    </message>
    <message>
      <source>{entry} holds no certificate</source>
      <translation>{entry} enthält kein Zertifikat</translation>
    </message>
    <message>
      <source>signature block: {reason}</source>
      <translation>Signaturblock beschädigt (technisch: {reason})</translation>
    </message>
    <message>
      <source>AndroidManifest.xml: {reason}</source>
      <translation>AndroidManifest.xml ist beschädigt (technisch: {reason})</translation>
    </message>
    <message>
      <source>check the profile in Apple Configurator or re-export it</source>
      <translation>das Profil im Apple Configurator prüfen oder neu exportieren</translation>
    </message>
    <message>
      <source>looks signed but is not valid PKCS#7: {reason}</source>
      <translation>sieht signiert aus, ist aber kein gültiges PKCS#7 (technisch: {reason})</translation>
    </message>
    <message>
      <source>signed profile has no content (detached signature)</source>
      <translation>signiertes Profil ohne Inhalt (abgetrennte Signatur)</translation>
    </message>
    <message>
      <source>not a property list (XML, binary) or a signed profile</source>
      <translation>weder eine Property-Liste (XML, binär) noch ein signiertes Profil</translation>
    </message>
    <message>
      <source>{size} bytes is too large for a profile</source>
      <translation>{size} Bytes sind zu groß für ein Profil</translation>
    </message>
    <message>
      <source>the file is empty</source>
      <translation>die Datei ist leer</translation>
    </message>
    <message>
      <source>not a readable property list: {reason}</source>
      <translation>keine lesbare Property-Liste (technisch: {reason})</translation>
    </message>
    <message>
      <source>the property list is not a dictionary</source>
      <translation>die Property-Liste ist kein Verzeichnis (dictionary)</translation>
    </message>
    <message>
      <source>PayloadType is '{type}', not 'Configuration'</source>
      <translation>PayloadType ist '{type}', nicht 'Configuration'</translation>
    </message>
    <message>
      <source>profile has no PayloadContent</source>
      <translation>Profil hat keinen PayloadContent</translation>
    </message>
    <message>
      <source>PayloadContent must be a list</source>
      <translation>PayloadContent muss eine Liste sein</translation>
    </message>
    <message>
      <source>{where} has no {field}</source>
      <translation>{where}: {field} fehlt</translation>
    </message>
    <message>
      <source>{where}: {field} must be a non-empty string</source>
      <translation>{where}: {field} muss ein nicht leerer Text sein</translation>
    </message>
    <message>
      <source>{where} PayloadVersion must be an integer</source>
      <translation>{where}: PayloadVersion muss eine ganze Zahl sein</translation>
    </message>
    <message>
      <source>{where} PayloadVersion {version} is not 1</source>
      <translation>{where}: PayloadVersion {version} ist nicht 1</translation>
    </message>
    <message>
      <source>{where} ServerURL must start with https://</source>
      <translation>{where}: ServerURL muss mit https:// beginnen</translation>
    </message>
    <message>
      <source>{where} Topic must start with com.apple.mgmt.</source>
      <translation>{where}: Topic muss mit com.apple.mgmt. beginnen</translation>
    </message>
    <message>
      <source>{where} IdentityCertificateUUID {uuid} names no identity payload in the profile</source>
      <translation>{where}: IdentityCertificateUUID {uuid} nennt keine Identitäts-Nutzlast im Profil</translation>
    </message>
    <message>
      <source>{where} AccessRights must be 1..8191</source>
      <translation>{where}: AccessRights muss zwischen 1 und 8191 liegen</translation>
    </message>
    <message>
      <source>{where} is not a dictionary</source>
      <translation>{where} ist kein Verzeichnis (dictionary)</translation>
    </message>
    <message>
      <source>{where} reuses UUID {uuid}</source>
      <translation>{where} verwendet die UUID {uuid} noch einmal</translation>
    </message>
    <message>
      <source>{where} reuses identifier {identifier}</source>
      <translation>{where} verwendet die Kennung {identifier} noch einmal</translation>
    </message>
    <message>
      <source>profile</source>
      <translation>Profil</translation>
    </message>
    <message>
      <source>payload #{number}</source>
      <translation>Nutzlast Nr. {number}</translation>
    </message>
    <message>
      <source>MDM payload {identifier}</source>
      <translation>MDM-Nutzlast {identifier}</translation>
    </message>
    <message>
      <source>pair</source>
      <translation>Koppeln</translation>
    </message>
    <message>
      <source>info</source>
      <translation>Geräteangaben lesen</translation>
    </message>
    <message>
      <source>read name</source>
      <translation>Namen lesen</translation>
    </message>
    <message>
      <source>rename</source>
      <translation>Umbenennen</translation>
    </message>
    <message>
      <source>install {file}</source>
      <translation>{file} installieren</translation>
    </message>
    <message>
      <source>list apps</source>
      <translation>Apps auflisten</translation>
    </message>
    <message>
      <source>read supervision</source>
      <translation>Betreuung lesen</translation>
    </message>
    <message>
      <source>supervise</source>
      <translation>Betreuen</translation>
    </message>
    <message>
      <source>list profiles</source>
      <translation>Profile auflisten</translation>
    </message>
    <message>
      <source>install profile</source>
      <translation>Profil installieren</translation>
    </message>
    <message>
      <source>remove profile</source>
      <translation>Profil entfernen</translation>
    </message>
    <message>
      <source>set wallpaper</source>
      <translation>Hintergrundbild setzen</translation>
    </message>
    <message>
      <source>erase</source>
      <translation>Löschen</translation>
    </message>
    <message>
      <source>read activation</source>
      <translation>Aktivierung lesen</translation>
    </message>
    <message>
      <source>activate</source>
      <translation>Aktivieren</translation>
    </message>
    <message>
      <source>list devices</source>
      <translation>Geräte auflisten</translation>
    </message>
    <message>
      <source>track devices</source>
      <translation>Geräte beobachten</translation>
    </message>
    <message>
      <source>read properties</source>
      <translation>Geräteeigenschaften lesen</translation>
    </message>
    <message>
      <source>push {file}</source>
      <translation>{file} kopieren</translation>
    </message>
    <message>
      <source>stat {path}</source>
      <translation>{path} prüfen</translation>
    </message>
    <message>
      <source>remove staged APK</source>
      <translation>zwischengespeicherte APK entfernen</translation>
    </message>
    <message>
      <source>list packages</source>
      <translation>Pakete auflisten</translation>
    </message>
    <message>
      <source>read {name}</source>
      <translation>{name} lesen</translation>
    </message>
    <message>
      <source>set {name}</source>
      <translation>{name} setzen</translation>
    </message>
    <message>
      <source>read device owner</source>
      <translation>Geräteinhaber lesen</translation>
    </message>
    <message>
      <source>set device owner</source>
      <translation>Geräteinhaber festlegen</translation>
    </message>
    <message>
      <source>reboot</source>
      <translation>Neustart</translation>
    </message>
    <message>
      <source>read boot state</source>
      <translation>Startzustand lesen</translation>
    </message>
    <message>
      <source>device owner</source>
      <translation>Geräteinhaber</translation>
    </message>
    <message>
      <source>{action}: the iPad shows the Trust prompt</source>
      <translation>{action}: das iPad fragt, ob es dieser Station „Vertrauen“ soll</translation>
    </message>
    <message>
      <source>{action}: trust was denied on the iPad</source>
      <translation>{action}: auf dem iPad wurde „Vertrauen“ abgelehnt</translation>
    </message>
    <message>
      <source>{action}: the iPad is locked with a passcode</source>
      <translation>{action}: das iPad ist mit einem Code gesperrt</translation>
    </message>
    <message>
      <source>{action}: the iPad is not paired with this station</source>
      <translation>{action}: das iPad ist nicht mit dieser Station gekoppelt</translation>
    </message>
    <message>
      <source>{action}: the iPad is supervised and does not allow pairing with this station</source>
      <translation>{action}: das iPad wird betreut und lässt kein Koppeln mit dieser Station zu</translation>
    </message>
    <message>
      <source>{action}: a cloud configuration is already present (MCInstall error 14002)</source>
      <translation>{action}: es ist schon eine Cloud-Konfiguration vorhanden (MCInstall-Fehler 14002)</translation>
    </message>
    <message>
      <source>{action}: usbmuxd is not reachable</source>
      <translation>{action}: usbmuxd ist nicht erreichbar</translation>
    </message>
    <message>
      <source>{action}: the iPad went away ({error})</source>
      <translation>{action}: das iPad ist weg (technisch: {error})</translation>
    </message>
    <message>
      <source>{action}: the iPad is not in normal mode (lockdownd did not answer)</source>
      <translation>{action}: das iPad ist nicht im normalen Modus (lockdownd antwortet nicht)</translation>
    </message>
    <message>
      <source>{action}: the iPad said: {reply}</source>
      <translation>{action}: das iPad lehnt ab. Meldung des iPads: {reply}</translation>
    </message>
    <message>
      <source>{action}: the iPad reported an error: {reply}</source>
      <translation>{action}: das iPad meldet einen Fehler. Meldung des iPads: {reply}</translation>
    </message>
    <message>
      <source>{action}: unexpected answer ({error})</source>
      <translation>{action}: unerwartete Antwort des Geräts (technisch: {error})</translation>
    </message>
    <message>
      <source>{action}: the tablet said: {reply}</source>
      <translation>{action}: das Tablet lehnt ab. Meldung des Tablets: {reply}</translation>
    </message>
    <message>
      <source>{action}: the tablet stopped answering</source>
      <translation>{action}: das Tablet antwortet nicht mehr</translation>
    </message>
    <message>
      <source>{action}: the adb server is not reachable ({error})</source>
      <translation>{action}: der adb-Server ist nicht erreichbar (technisch: {error})</translation>
    </message>
    <message>
      <source>{action}: USB debugging is not allowed for this station</source>
      <translation>{action}: USB-Debugging ist für diese Station nicht erlaubt</translation>
    </message>
    <message>
      <source>{action}: the tablet is still authorizing</source>
      <translation>{action}: das Tablet wartet noch auf die Erlaubnis</translation>
    </message>
    <message>
      <source>{action}: adb lost the tablet ({reply})</source>
      <translation>{action}: adb hat das Tablet verloren (Meldung von adb: {reply})</translation>
    </message>
    <message>
      <source>{action}: two tablets answer to the same serial ({reply})</source>
      <translation>{action}: zwei Tablets haben dieselbe Seriennummer (Meldung von adb: {reply})</translation>
    </message>
    <message>
      <source>{action}: the tablet went away ({error})</source>
      <translation>{action}: das Tablet ist weg (technisch: {error})</translation>
    </message>
    <message>
      <source>{action}: not enough storage on the tablet ({reply})</source>
      <translation>{action}: zu wenig Speicher auf dem Tablet (Meldung des Tablets: {reply})</translation>
    </message>
    <message>
      <source>device owner: {owner} is already device owner</source>
      <translation>Geräteinhaber: {owner} ist schon Geräteinhaber</translation>
    </message>
    <message>
      <source>supervise: the iPad is supervised by another organisation</source>
      <translation>Betreuen: das iPad wird von einer anderen Organisation betreut</translation>
    </message>
    <message>
      <source>pair: {presence}</source>
      <translation>Koppeln: {presence}</translation>
    </message>
    <message>
      <source>usbmuxd at {address} is not reachable ({error})</source>
      <translation>usbmuxd unter {address} ist nicht erreichbar (technisch: {error})</translation>
    </message>
    <message>
      <source>usbmuxd closed the connection</source>
      <translation>usbmuxd hat die Verbindung beendet</translation>
    </message>
    <message>
      <source>usbmuxd sent a message of {size} bytes</source>
      <translation>usbmuxd schickte eine Nachricht von {size} Bytes</translation>
    </message>
    <message>
      <source>usbmuxd sent message type {kind_number} (version {version})</source>
      <translation>usbmuxd schickte Nachrichtentyp {kind_number} (Version {version})</translation>
    </message>
    <message>
      <source>usbmuxd sent a plist that does not parse</source>
      <translation>usbmuxd schickte eine unlesbare Property-Liste</translation>
    </message>
    <message>
      <source>usbmuxd sent a plist that is not a dictionary</source>
      <translation>usbmuxd schickte eine Property-Liste, die kein Verzeichnis (dictionary) ist</translation>
    </message>
    <message>
      <source>usbmuxd sent an Attached record without an id: {record}</source>
      <translation>usbmuxd meldete ein Gerät ohne Kennung (technisch: {record})</translation>
    </message>
    <message>
      <source>usbmuxd answered ListDevices with {reply}</source>
      <translation>usbmuxd beantwortete ListDevices unerwartet (technisch: {reply})</translation>
    </message>
    <message>
      <source>usbmuxd refused Listen: {reply}</source>
      <translation>usbmuxd lehnte Listen ab (technisch: {reply})</translation>
    </message>
    <message>
      <source>the supervision identity holds no PEM certificate</source>
      <translation>die Betreuungs-Identität enthält kein PEM-Zertifikat</translation>
    </message>
    <message>
      <source>the supervision identity holds no usable private key</source>
      <translation>die Betreuungs-Identität enthält keinen brauchbaren privaten Schlüssel</translation>
    </message>
    <message>
      <source>pair: the iPad paired but refused the new pairing</source>
      <translation>Koppeln: das iPad wurde gekoppelt, lehnt die neue Kopplung aber ab</translation>
    </message>
    <message>
      <source>list apps: bad record for {app}</source>
      <translation>Apps auflisten: fehlerhafter Eintrag für {app}</translation>
    </message>
    <message>
      <source>list profiles: bad entry '{identifier}'</source>
      <translation>Profile auflisten: fehlerhafter Eintrag '{identifier}'</translation>
    </message>
    <message>
      <source>activate: the activation server did not answer ({error})</source>
      <translation>Aktivieren: der Aktivierungsserver antwortet nicht (technisch: {error})</translation>
    </message>
    <message>
      <source>activate: the iPad is locked to an Apple Account (Activation Lock)</source>
      <translation>Aktivieren: das iPad ist an einen Apple Account gebunden (Aktivierungssperre)</translation>
    </message>
    <message>
      <source>Have the owner remove it from Find My, or release it in Apple School Manager</source>
      <translation>Den Besitzer bitten, es aus „Wo ist?“ zu entfernen, oder es im Apple School Manager freigeben</translation>
    </message>
    <message>
      <source>activate: the activation server answered {kind}</source>
      <translation>Aktivieren: unerwartete Antwort des Aktivierungsservers ({kind})</translation>
    </message>
    <message>
      <source>no content type</source>
      <translation>ohne Inhaltstyp</translation>
    </message>
    <message>
      <source>the iOS driver was closed</source>
      <translation>der iPad-Treiber wurde beendet</translation>
    </message>
    <message>
      <source>{path}: no such app file</source>
      <translation>{path}: App-Datei nicht gefunden</translation>
    </message>
    <message>
      <source>{path}: no such app file ({reason})</source>
      <translation>{path}: App-Datei nicht gefunden ({reason})</translation>
    </message>
    <message>
      <source>{path}: no such file</source>
      <translation>{path}: Datei nicht gefunden</translation>
    </message>
    <message>
      <source>the adb server ended device tracking ({error})</source>
      <translation>der adb-Server beobachtet die Geräte nicht mehr (technisch: {error})</translation>
    </message>
    <message>
      <source>getprop failed: {reply}</source>
      <translation>Geräteeigenschaften lesen fehlgeschlagen (Meldung des Tablets: {reply})</translation>
    </message>
    <message>
      <source>{action}: adb does not see {handle}</source>
      <translation>{action}: adb sieht {handle} nicht</translation>
    </message>
    <message>
      <source>setting namespace '{namespace}' is not one of {choices}</source>
      <translation>Namensraum '{namespace}' ist nicht einer von {choices}</translation>
    </message>
    <message>
      <source>setting key '{key}' has characters Android does not allow</source>
      <translation>Einstellung '{key}' enthält Zeichen, die Android nicht erlaubt</translation>
    </message>
    <message>
      <source>{action}: {dest} has {size} bytes on the tablet, not {expected}</source>
      <translation>{action}: {dest} ist auf dem Tablet {size} Bytes groß statt {expected}</translation>
    </message>
    <message>
      <source>device owner '{component}' is not a package/.Receiver component</source>
      <translation>Geräteinhaber '{component}' ist keine Komponente der Form paket/.Receiver</translation>
    </message>
    <message>
      <source>supervise: the blueprint's supervision identity is not loaded</source>
      <translation>Betreuen: die Betreuungs-Identität des Bauplans ist nicht geladen</translation>
    </message>
    <message>
      <source>cannot scan USB: {error}</source>
      <translation>USB lässt sich nicht durchsuchen (technisch: {error})</translation>
    </message>
    <message>
      <source>Copying {file}</source>
      <translation>{file} wird kopiert</translation>
    </message>
    <message>
      <source>Installing {file}</source>
      <translation>{file} wird installiert</translation>
    </message>
    <message>
      <source>Installed {file}</source>
      <translation>{file} installiert</translation>
    </message>
    <message>
      <source>Uploading {file}</source>
      <translation>{file} wird hochgeladen</translation>
    </message>
    <message>
      <source>{path}: the app file got shorter while it was sent</source>
      <translation>{path}: die App-Datei wurde während des Sendens kürzer</translation>
    </message>
    <message>
      <source>Check the cable; the job goes on when the tablet is back</source>
      <translation>Kabel prüfen; die Arbeit geht weiter, sobald das Tablet wieder da ist</translation>
    </message>
    <message>
      <source>Start usbmuxd on the station (systemctl start usbmuxd) and replug the iPads</source>
      <translation>usbmuxd auf der Station starten (systemctl start usbmuxd) und die iPads neu anstecken</translation>
    </message>
    <message>
      <source>Start the adb server on the station (adb start-server)</source>
      <translation>adb-Server auf der Station starten (adb start-server)</translation>
    </message>
    <message>
      <source>Unplug the tablet and restart it; if it happens again, set it aside</source>
      <translation>Tablet abstecken und neu starten; passiert es wieder, zur Seite legen</translation>
    </message>
    <message>
      <source>Pair the iPad first: unlock it and tap Trust</source>
      <translation>iPad zuerst koppeln: entsperren und auf „Vertrauen“ tippen</translation>
    </message>
    <message>
      <source>Erase the iPad first: supervision needs a device still in Setup Assistant</source>
      <translation>iPad zuerst löschen: Betreuen geht nur, solange der Einrichtungsassistent läuft</translation>
    </message>
    <message>
      <source>Use the organisation's supervision identity, or erase the iPad</source>
      <translation>Die Betreuungs-Identität der Organisation verwenden oder das iPad löschen</translation>
    </message>
    <message>
      <source>Two tablets share a serial: address them by port</source>
      <translation>Zwei Tablets haben dieselbe Seriennummer: über den USB-Anschluss ansprechen</translation>
    </message>
    <message>
      <source>Free up storage on the tablet (or erase it), then retry it</source>
      <translation>Speicher auf dem Tablet freigeben (oder es löschen), dann wiederholen</translation>
    </message>
    <message>
      <source>Erase the iPad (Settings &gt; General &gt; Reset) or set erase in the blueprint</source>
      <translation>iPad löschen (Einstellungen &gt; Allgemein &gt; Zurücksetzen) oder Löschen im Bauplan einstellen</translation>
    </message>
    <message>
      <source>Another organisation supervises this iPad: have it released, or erase it with its identity</source>
      <translation>Eine andere Organisation betreut dieses iPad: freigeben lassen oder mit deren Identität löschen</translation>
    </message>
    <message>
      <source>Remove every account on the tablet (Settings &gt; Accounts) or factory-reset it, then retry it</source>
      <translation>Alle Konten auf dem Tablet entfernen (Einstellungen &gt; Konten) oder es auf Werkseinstellungen zurücksetzen, dann wiederholen</translation>
    </message>
    <message>
      <source>Another app is device owner: factory-reset the tablet, then retry it</source>
      <translation>Eine andere App ist Geräteinhaber: Tablet auf Werkseinstellungen zurücksetzen, dann wiederholen</translation>
    </message>
    <message>
      <source>Remove every account (Settings &gt; Accounts) or factory-reset the tablet</source>
      <translation>Alle Konten entfernen (Einstellungen &gt; Konten) oder das Tablet auf Werkseinstellungen zurücksetzen</translation>
    </message>
    <message>
      <source>Remove the extra users (Settings &gt; System &gt; Multiple users)</source>
      <translation>Die zusätzlichen Nutzer entfernen (Einstellungen &gt; System &gt; Mehrere Nutzer)</translation>
    </message>
    <message>
      <source>Factory-reset the tablet to change its device owner</source>
      <translation>Tablet auf Werkseinstellungen zurücksetzen, um den Geräteinhaber zu ändern</translation>
    </message>
    <message>
      <source>Check the device-owner app and the tablet's state</source>
      <translation>Geräteinhaber-App und Zustand des Tablets prüfen</translation>
    </message>
    <message>
      <source>Install libusb and check the station's USB access</source>
      <translation>libusb installieren und den USB-Zugriff der Station prüfen</translation>
    </message>
    <message>
      <source>Check the station's internet connection (albert.apple.com)</source>
      <translation>Internetverbindung der Station prüfen (albert.apple.com)</translation>
    </message>
    <message>
      <source>Store the identity as PEM certificate + unencrypted private key</source>
      <translation>Die Identität als PEM-Zertifikat mit unverschlüsseltem privatem Schlüssel speichern</translation>
    </message>
    <message>
      <source>Plug the tablet back in (any slot): its job goes on where it stopped</source>
      <translation>Tablet wieder anstecken (beliebiges Fach): die Arbeit geht dort weiter, wo sie stand</translation>
    </message>
    <message>
      <source>Check the tablet and its cable, then retry it</source>
      <translation>Tablet und Kabel prüfen, dann wiederholen</translation>
    </message>
    <message>
      <source>Report this; retry the tablet</source>
      <translation>Bitte melden; das Tablet erneut versuchen</translation>
    </message>
    <message>
      <source>internal error: {error}</source>
      <translation>interner Fehler der Station (technisch: {error})</translation>
    </message>
    <message>
      <source>{step} timed out</source>
      <translation>{step}: Zeit abgelaufen</translation>
    </message>
    <message>
      <source>retrying: {error}</source>
      <translation>wird wiederholt: {error}</translation>
    </message>
    <message>
      <source>retry {count} in {seconds}s</source>
      <translation>Versuch {count} in {seconds} s</translation>
    </message>
    <message>
      <source>waiting for a person: {reason}</source>
      <translation>wartet auf eine Person: {reason}</translation>
    </message>
    <message>
      <source>{done} done, {skipped} already so</source>
      <translation>{done} Schritte erledigt, {skipped} schon erledigt</translation>
    </message>
    <message>
      <source>the tablet is {presence}</source>
      <translation>Tablet: {presence}</translation>
    </message>
    <message>
      <source>started normally as {job}</source>
      <translation>normal gestartet als {job}</translation>
    </message>
    <message>
      <source>the iPad is in recovery mode</source>
      <translation>das iPad ist im Wiederherstellungsmodus</translation>
    </message>
    <message>
      <source>the iPad left recovery mode</source>
      <translation>das iPad hat den Wiederherstellungsmodus verlassen</translation>
    </message>
    <message>
      <source>the tablet is on USB but adb cannot see it</source>
      <translation>das Tablet hängt am USB, aber adb sieht es nicht</translation>
    </message>
    <message>
      <source>provisioned earlier with this blueprint; USB debugging is off</source>
      <translation>früher mit diesem Bauplan eingerichtet; USB-Debugging ist aus</translation>
    </message>
    <message>
      <source>stopped</source>
      <translation>angehalten</translation>
    </message>
    <message>
      <source>cancelled</source>
      <translation>abgebrochen</translation>
    </message>
    <message>
      <source>retrying</source>
      <translation>wird wiederholt</translation>
    </message>
    <message>
      <source>checking</source>
      <translation>prüfe</translation>
    </message>
    <message>
      <source>restarting</source>
      <translation>startet neu</translation>
    </message>
    <message>
      <source>finished before the restart</source>
      <translation>vor dem Neustart fertig geworden</translation>
    </message>
    <message>
      <source>the device left</source>
      <translation>das Tablet hat sich getrennt</translation>
    </message>
    <message>
      <source>the device went away</source>
      <translation>das Tablet ist weg</translation>
    </message>
    <message>
      <source>done in an earlier attempt</source>
      <translation>in einem früheren Versuch erledigt</translation>
    </message>
    <message>
      <source>already done on the device</source>
      <translation>auf dem Gerät schon erledigt</translation>
    </message>
    <message>
      <source>input error</source>
      <translation>Eingabefehler</translation>
    </message>
    <message>
      <source>{error} ({hint})</source>
      <translation>{error}. Was zu tun ist: {hint}</translation>
    </message>
    <message>
      <source>printer {printer}: {error}</source>
      <translation>Drucker {printer}: {error}</translation>
    </message>
    <message>
      <source>no answer (timed out)</source>
      <translation>antwortet nicht (Zeit abgelaufen)</translation>
    </message>
    <message>
      <source>refused the connection</source>
      <translation>lässt keine Verbindung zu</translation>
    </message>
    <message>
      <source>unreachable ({reason})</source>
      <translation>nicht erreichbar ({reason})</translation>
    </message>
    <message>
      <source>cannot write ({reason})</source>
      <translation>lässt sich nicht beschreiben ({reason})</translation>
    </message>
    <message>
      <source>the printer connection failed: {reply}</source>
      <translation>die Verbindung zum Drucker ist gescheitert. Meldung des Druckers: {reply}</translation>
    </message>
    <message>
      <source>USB cannot be used: libusb is not installed</source>
      <translation>USB ist nicht nutzbar: libusb ist nicht installiert</translation>
    </message>
    <message>
      <source>the USB bus cannot be read ({reply})</source>
      <translation>der USB-Bus lässt sich nicht lesen. Meldung des Systems: {reply}</translation>
    </message>
    <message>
      <source>is in Editor Lite mode (it shows up as a USB drive, not as a printer)</source>
      <translation>ist im Editor-Lite-Modus (er erscheint als USB-Laufwerk, nicht als Drucker)</translation>
    </message>
    <message>
      <source>is not connected by USB</source>
      <translation>ist nicht per USB angeschlossen</translation>
    </message>
    <message>
      <source>is not connected by USB (connected: {printers})</source>
      <translation>ist nicht per USB angeschlossen (angeschlossen sind: {printers})</translation>
    </message>
    <message>
      <source>has no tape or labels loaded</source>
      <translation>hat kein Band und keine Etiketten eingelegt</translation>
    </message>
    <message>
      <source>reports: {problems}</source>
      <translation>meldet: {problems}</translation>
    </message>
    <message>
      <source>reported {problems}</source>
      <translation>meldete: {problems}</translation>
    </message>
    <message>
      <source>did not answer the status request</source>
      <translation>antwortet nicht auf die Statusabfrage</translation>
    </message>
    <message>
      <source>has {loaded} loaded, but the labels are laid out for {roll}</source>
      <translation>hat {loaded} eingelegt, die Etiketten sind aber für {roll} angelegt</translation>
    </message>
    <message>
      <source>{error} after {done} of {count} labels</source>
      <translation>{error} (nach {done} von {count} Etiketten)</translation>
    </message>
    <message>
      <source>no labels to print</source>
      <translation>keine Etiketten zum Drucken</translation>
    </message>
    <message>
      <source>no roll</source>
      <translation>keine Rolle</translation>
    </message>
    <message>
      <source>{width} x {length} mm die-cut labels</source>
      <translation>Einzeletiketten {width} x {length} mm</translation>
    </message>
    <message>
      <source>{width} mm endless tape</source>
      <translation>Endlosband {width} mm</translation>
    </message>
    <message>
      <source>no tape or labels are loaded</source>
      <translation>kein Band und keine Etiketten eingelegt</translation>
    </message>
    <message>
      <source>the label roll is used up</source>
      <translation>die Etikettenrolle ist leer</translation>
    </message>
    <message>
      <source>the cutter is jammed</source>
      <translation>das Schneidemesser klemmt</translation>
    </message>
    <message>
      <source>it is switched off</source>
      <translation>er ist ausgeschaltet</translation>
    </message>
    <message>
      <source>the loaded roll is not the one the labels are made for</source>
      <translation>die eingelegte Rolle passt nicht zu den Etiketten</translation>
    </message>
    <message>
      <source>it did not understand the data it received</source>
      <translation>er hat die gesendeten Daten nicht verstanden</translation>
    </message>
    <message>
      <source>the cover is open</source>
      <translation>die Abdeckung ist offen</translation>
    </message>
    <message>
      <source>the tape is used up or stuck</source>
      <translation>das Band ist leer oder klemmt</translation>
    </message>
    <message>
      <source>it has a system error (switch it off and on)</source>
      <translation>er hat einen Systemfehler (aus- und wieder einschalten)</translation>
    </message>
    <message>
      <source>an unknown error</source>
      <translation>einen unbekannten Fehler</translation>
    </message>
    <message>
      <source>Switch the printer on and check its network cable; the labels are kept and will be printed with Retry</source>
      <translation>Drucker einschalten und sein Netzwerkkabel prüfen; die Etiketten bleiben gespeichert und werden mit „Wiederholen“ gedruckt</translation>
    </message>
    <message>
      <source>Switch the printer on, check its USB cable and turn Editor Lite off; the labels are kept and will be printed with Retry</source>
      <translation>Drucker einschalten, sein USB-Kabel prüfen und Editor Lite ausschalten; die Etiketten bleiben gespeichert und werden mit „Wiederholen“ gedruckt</translation>
    </message>
    <message>
      <source>Load the {roll} roll, or choose the label size that is loaded; the labels are kept and will be printed with Retry</source>
      <translation>Rolle {roll} einlegen oder die eingelegte Etikettengröße wählen; die Etiketten bleiben gespeichert und werden mit „Wiederholen“ gedruckt</translation>
    </message>
    <message>
      <source>Check the tape and the cover; the labels are kept and will be printed with Retry</source>
      <translation>Band und Abdeckung prüfen; die Etiketten bleiben gespeichert und werden mit „Wiederholen“ gedruckt</translation>
    </message>
    <message>
      <source>install libusb (Debian: apt install libusb-1.0-0), or connect the printer over the network</source>
      <translation>libusb installieren (Debian: apt install libusb-1.0-0) oder den Drucker über das Netzwerk anschließen</translation>
    </message>
    <message>
      <source>Hold the Editor Lite button until its light goes out, then press Retry</source>
      <translation>Die Taste „Editor Lite“ gedrückt halten, bis ihr Licht ausgeht, dann „Wiederholen“ drücken</translation>
    </message>
    <message>
      <source>unknown label printer kind '{value}'</source>
      <translation>unbekannte Art von Etikettendrucker „{value}“</translation>
    </message>
    <message>
      <source>known kinds: {choices}</source>
      <translation>bekannte Arten: {choices}</translation>
    </message>
    <message>
      <source>no label printer address is given</source>
      <translation>keine Adresse des Etikettendruckers angegeben</translation>
    </message>
    <message>
      <source>Zebra printer address '{address}' is not tcp://HOST:PORT</source>
      <translation>die Zebra-Druckeradresse „{address}“ hat nicht die Form tcp://HOST:PORT</translation>
    </message>
    <message>
      <source>for example tcp://192.0.2.40:9100</source>
      <translation>zum Beispiel tcp://192.0.2.40:9100</translation>
    </message>
    <message>
      <source>Zebra label size '{size}' is not WIDTHxHEIGHT in mm</source>
      <translation>die Zebra-Etikettengröße „{size}“ hat nicht die Form BREITExHÖHE in mm</translation>
    </message>
    <message>
      <source>Zebra dots per mm {number} is not a Zebra print head</source>
      <translation>{number} Punkte pro mm gibt es bei keinem Zebra-Druckkopf</translation>
    </message>
    <message>
      <source>choose {choices}</source>
      <translation>wählen Sie {choices}</translation>
    </message>
    <message>
      <source>unknown Brother label '{label}'</source>
      <translation>unbekanntes Brother-Etikett „{label}“</translation>
    </message>
    <message>
      <source>known labels: {choices}</source>
      <translation>bekannte Etiketten: {choices}</translation>
    </message>
    <message>
      <source>Brother USB address '{address}' is not usb://VENDOR:PRODUCT[/SERIAL]</source>
      <translation>die Brother-USB-Adresse „{address}“ hat nicht die Form usb://HERSTELLER:PRODUKT[/SERIENNUMMER]</translation>
    </message>
    <message>
      <source>for example usb://0x04f9:0x209d (QL-820NWB) or usb://0x04f9:0x2042 (QL-700)</source>
      <translation>zum Beispiel usb://0x04f9:0x209d (QL-820NWB) oder usb://0x04f9:0x2042 (QL-700)</translation>
    </message>
    <message>
      <source>label size {label}: {width} x {height} mm is not a label</source>
      <translation>Etikettengröße {label}: {width} x {height} mm ist kein Etikett</translation>
    </message>
    <message>
      <source>label size {label}: {width} x {height} mm leaves no room for a QR code and the asset tag side by side</source>
      <translation>Etikettengröße {label}: auf {width} x {height} mm passen QR-Code und Inventarnummer nicht nebeneinander</translation>
    </message>
    <message>
      <source>use labels of at least about {width} x {height} mm</source>
      <translation>Etiketten von mindestens etwa {width} x {height} mm verwenden</translation>
    </message>
    <message>
      <source>label {tag}: the QR code for '{payload}' is too dense for a {width} x {height} mm label ({module} mm per module, {needed} mm needed to scan reliably)</source>
      <translation>Etikett {tag}: der QR-Code für '{payload}' ist für ein Etikett von {width} x {height} mm zu fein ({module} mm je Modul, zum sicheren Scannen sind {needed} mm nötig)</translation>
    </message>
    <message>
      <source>use a shorter payload template (plain) or larger labels</source>
      <translation>eine kürzere QR-Vorlage (plain) oder größere Etiketten verwenden</translation>
    </message>
    <message>
      <source>a label's QR payload is empty</source>
      <translation>der QR-Inhalt eines Etiketts ist leer</translation>
    </message>
    <message>
      <source>QR payload of {size} bytes does not fit in a QR code</source>
      <translation>ein QR-Inhalt von {size} Bytes passt in keinen QR-Code</translation>
    </message>
    <message>
      <source>use a shorter payload template</source>
      <translation>eine kürzere QR-Vorlage verwenden</translation>
    </message>
    <message>
      <source>label sheet {sheet}: start offset {offset} is outside the sheet</source>
      <translation>Etikettenbogen {sheet}: Startposition {offset} liegt außerhalb des Bogens</translation>
    </message>
    <message>
      <source>give 0 (a fresh sheet) to {last} (labels already used)</source>
      <translation>0 (neuer Bogen) bis {last} (schon verbrauchte Etiketten) angeben</translation>
    </message>
    <message>
      <source>unknown label sheet '{sheet}'</source>
      <translation>unbekannter Etikettenbogen '{sheet}'</translation>
    </message>
    <message>
      <source>unknown label sheet '{sheet}' (did you mean {suggestion}?)</source>
      <translation>unbekannter Etikettenbogen '{sheet}' (meinten Sie {suggestion}?)</translation>
    </message>
    <message>
      <source>known sheets: {sheets}; add others to {file}</source>
      <translation>bekannte Bögen: {sheets}; weitere in {file} ergänzen</translation>
    </message>
    <message>
      <source>{path}: label sheet layouts not found</source>
      <translation>{path}: Bogen-Vorlagen für Etiketten nicht gefunden</translation>
    </message>
    <message>
      <source>{path}: cannot read label sheet layouts ({reason})</source>
      <translation>{path}: Bogen-Vorlagen für Etiketten lassen sich nicht lesen ({reason})</translation>
    </message>
    <message>
      <source>no blueprint is loaded</source>
      <translation>kein Bauplan geladen</translation>
    </message>
    <message>
      <source>choose the cart's blueprint first</source>
      <translation>zuerst den Bauplan des Wagens wählen</translation>
    </message>
    <message>
      <source>blueprint {name} has no [android] table</source>
      <translation>Bauplan {name} hat keinen Abschnitt [android]</translation>
    </message>
    <message>
      <source>add an [android] table with device_owner and its APK</source>
      <translation>einen Abschnitt [android] mit device_owner und dessen APK ergänzen</translation>
    </message>
    <message>
      <source>the blueprint has no [android.provisioning] table</source>
      <translation>der Bauplan hat keinen Abschnitt [android.provisioning]</translation>
    </message>
    <message>
      <source>add [android.provisioning] with download_url = "https://.../agent.apk", the address tablets download the device-owner app from (see docs/blueprints.md)</source>
      <translation>den Abschnitt [android.provisioning] mit download_url = "https://.../agent.apk" ergänzen, der Adresse, von der die Tablets die Geräteinhaber-App laden (siehe docs/blueprints.md)</translation>
    </message>
    <message>
      <source>the blueprint names no android.device_owner</source>
      <translation>der Bauplan nennt kein android.device_owner</translation>
    </message>
    <message>
      <source>add device_owner = "package/.Receiver" to the [android] table</source>
      <translation>device_owner = "package/.Receiver" im Abschnitt [android] ergänzen</translation>
    </message>
    <message>
      <source>the device-owner app {package} is not among android.apps</source>
      <translation>die Geräteinhaber-App {package} fehlt in android.apps</translation>
    </message>
    <message>
      <source>device-owner component '{component}' is not a component name</source>
      <translation>Geräteinhaber-Komponente '{component}' ist kein Komponentenname</translation>
    </message>
    <message>
      <source>write "package/.Receiver" or "package/full.class.Name"</source>
      <translation>"package/.Receiver" oder "package/full.class.Name" schreiben</translation>
    </message>
    <message>
      <source>device-owner component {component}: package {package} is not the APK's ({file} is {app})</source>
      <translation>Geräteinhaber-Komponente {component}: Paket {package} gehört nicht zur APK ({file} ist {app})</translation>
    </message>
    <message>
      <source>name the receiver of the app whose APK the tablets download</source>
      <translation>den Receiver der App angeben, deren APK die Tablets laden</translation>
    </message>
    <message>
      <source>APK download URL '{url}' is not an http(s) address</source>
      <translation>Download-Adresse der APK '{url}' ist keine http(s)-Adresse</translation>
    </message>
    <message>
      <source>the tablets download the device-owner app from it during setup</source>
      <translation>von dort laden die Tablets bei der Einrichtung die Geräteinhaber-App</translation>
    </message>
    <message>
      <source>{path}: the APK is not signed, so it has no signature checksum</source>
      <translation>{path}: die APK ist nicht signiert und hat darum keine Signatur-Prüfsumme</translation>
    </message>
    <message>
      <source>{path}: cannot read ({reason})</source>
      <translation>{path}: lässt sich nicht lesen ({reason})</translation>
    </message>
    <message>
      <source>Wi-Fi security type '{value}' is not one Android knows</source>
      <translation>WLAN-Sicherheitstyp '{value}' kennt Android nicht</translation>
    </message>
    <message>
      <source>use one of {choices}</source>
      <translation>einen davon verwenden: {choices}</translation>
    </message>
    <message>
      <source>Wi-Fi '{name}': a password is set for an open network</source>
      <translation>WLAN '{name}': für ein offenes Netz ist ein Kennwort angegeben</translation>
    </message>
    <message>
      <source>Wi-Fi '{name}' ({security}) needs a password</source>
      <translation>WLAN '{name}' ({security}) braucht ein Kennwort</translation>
    </message>
    <message>
      <source>Wi-Fi security or password given without an SSID</source>
      <translation>WLAN-Sicherheit oder Kennwort ohne Netzwerknamen (SSID) angegeben</translation>
    </message>
    <message>
      <source>hub unreachable: {reply}</source>
      <translation>Zentrale nicht erreichbar. Meldung der Verbindung: {reply}</translation>
    </message>
    <message>
      <source>the hub takes no '{op}' messages</source>
      <translation>die Zentrale nimmt keine Nachrichten der Art '{op}' an</translation>
    </message>
    <message>
      <source>the hub's answer is not a batch reply (a proxy in the way?)</source>
      <translation>die Antwort der Zentrale passt nicht (ein Proxy dazwischen?)</translation>
    </message>
    <message>
      <source>the hub's answer left this message out</source>
      <translation>die Antwort der Zentrale enthält diese Nachricht nicht</translation>
    </message>
    <message>
      <source>hub rejected it: {reply}</source>
      <translation>die Zentrale hat sie abgelehnt. Antwort des Servers: {reply}</translation>
    </message>
    <message>
      <source>hub busy or failing: {reply}</source>
      <translation>die Zentrale ist überlastet oder gestört. Antwort des Servers: {reply}</translation>
    </message>
    <message>
      <source>hub refused this station's token ({reply}); set it with station sync set-hub</source>
      <translation>die Zentrale lehnt den Zugangsschlüssel dieser Station ab (Antwort des Servers: {reply}); Schlüssel in den Stationseinstellungen oder mit station sync set-hub neu eintragen</translation>
    </message>
    <message>
      <source>hub answered with a redirect to {url}; check the hub URL</source>
      <translation>die Zentrale leitet weiter auf {url}; Adresse der Zentrale prüfen</translation>
    </message>
    <message>
      <source>hub refused it: {reply}</source>
      <translation>die Zentrale hat sie abgewiesen. Antwort des Servers: {reply}</translation>
    </message>
    <message>
      <source>Snipe-IT unreachable: {reply}</source>
      <translation>Snipe-IT nicht erreichbar. Meldung der Verbindung: {reply}</translation>
    </message>
    <message>
      <source>Snipe-IT rate limit: HTTP {status}</source>
      <translation>Snipe-IT bremst die Anfragen: HTTP {status}</translation>
    </message>
    <message>
      <source>Snipe-IT failure: HTTP {status}</source>
      <translation>Snipe-IT ist gestört: HTTP {status}</translation>
    </message>
    <message>
      <source>Snipe-IT refused the API token (HTTP {status})</source>
      <translation>Snipe-IT lehnt den API-Schlüssel ab (HTTP {status})</translation>
    </message>
    <message>
      <source>create a token in Snipe-IT and store it with station sync set-snipeit</source>
      <translation>in Snipe-IT einen API-Schlüssel erstellen und mit station sync set-snipeit speichern</translation>
    </message>
    <message>
      <source>Snipe-IT answered HTTP {status} without JSON (maintenance page? proxy?)</source>
      <translation>Snipe-IT antwortet mit HTTP {status} ohne JSON (Wartungsseite? Proxy?)</translation>
    </message>
    <message>
      <source>Snipe-IT: {request}: not found</source>
      <translation>Snipe-IT: {request}: nicht gefunden</translation>
    </message>
    <message>
      <source>Snipe-IT: {request}: {reply}</source>
      <translation>Snipe-IT: {request}: Antwort des Servers: {reply}</translation>
    </message>
    <message>
      <source>Snipe-IT: HTTP {status}: {reply}</source>
      <translation>Snipe-IT: HTTP {status}: Antwort des Servers: {reply}</translation>
    </message>
    <message>
      <source>Snipe-IT byserial lookup failed: {reply}</source>
      <translation>Snipe-IT: Suche nach der Seriennummer gescheitert. Antwort des Servers: {reply}</translation>
    </message>
    <message>
      <source>Snipe-IT {thing} lookup failed: {reply}</source>
      <translation>Snipe-IT: Suche nach {thing} gescheitert. Antwort des Servers: {reply}</translation>
    </message>
    <message>
      <source>Snipe-IT has no {thing} named '{name}'</source>
      <translation>Snipe-IT: {thing} '{name}' nicht gefunden</translation>
    </message>
    <message>
      <source>model</source>
      <translation>Modell</translation>
    </message>
    <message>
      <source>company</source>
      <translation>Firma</translation>
    </message>
    <message>
      <source>location</source>
      <translation>Standort</translation>
    </message>
    <message>
      <source>create the {thing} in Snipe-IT or map it in the station's Snipe-IT settings</source>
      <translation>{thing} in Snipe-IT anlegen oder in den Snipe-IT-Einstellungen der Station zuordnen</translation>
    </message>
    <message>
      <source>Snipe-IT refused the new asset: {reply}</source>
      <translation>Snipe-IT lehnt das neue Gerät ab. Antwort des Servers: {reply}</translation>
    </message>
    <message>
      <source>Snipe-IT refused the update: {reply}</source>
      <translation>Snipe-IT lehnt die Änderung ab. Antwort des Servers: {reply}</translation>
    </message>
    <message>
      <source>Snipe-IT has {count} assets with serial {serial} (ids {ids})</source>
      <translation>Snipe-IT hat {count} Geräte mit der Seriennummer {serial} (IDs {ids})</translation>
    </message>
    <message>
      <source>merge or delete the duplicates in Snipe-IT, then resend</source>
      <translation>die doppelten Einträge in Snipe-IT zusammenführen oder löschen, dann erneut senden</translation>
    </message>
    <message>
      <source>Snipe-IT takes no '{op}' messages</source>
      <translation>Snipe-IT nimmt keine Nachrichten der Art '{op}' an</translation>
    </message>
    <message>
      <source>not an asset record: {count} problems</source>
      <translation>kein Gerätedatensatz: {count} Fehler</translation>
    </message>
  </context>
</TS>
