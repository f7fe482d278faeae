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
      <source>No failures</source>
      <translation>Keine Fehler</translation>
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
      <source>Failed: slots %1. %2</source>
      <translation>Fehlgeschlagen: Fächer %1. %2</translation>
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
      <source>Cancel</source>
      <translation>Abbrechen</translation>
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
      <source>Save</source>
      <translation>Speichern</translation>
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
      <translation>Bitte handeln</translation>
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
      <source>Plug the tablet back in (any slot): its job goes on where it stopped</source>
      <translation>Tablet wieder anstecken (beliebiges Fach): die Arbeit geht dort weiter, wo sie stand</translation>
    </message>
    <message>
      <source>Check the tablet and its cable, then retry it</source>
      <translation>Tablet und Kabel prüfen, dann wiederholen</translation>
    </message>
    <message>
      <source>Check the cable; the job goes on when the tablet is back</source>
      <translation>Kabel prüfen; die Arbeit geht weiter, sobald das Tablet wieder da ist</translation>
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
      <source>Another app is device owner: factory-reset the tablet, then retry it</source>
      <translation>Eine andere App ist Geräteinhaber: Tablet auf Werkseinstellungen zurücksetzen, dann wiederholen</translation>
    </message>
    <message>
      <source>Pair the iPad first: unlock it and tap Trust</source>
      <translation>iPad zuerst koppeln: entsperren und auf „Vertrauen“ tippen</translation>
    </message>
    <message>
      <source>Unplug the tablet and restart it; if it happens again, set it aside</source>
      <translation>Tablet abstecken und neu starten; passiert es wieder, zur Seite legen</translation>
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
      <source>fix the blueprint and load it again; no device was touched</source>
      <translation>Bauplan korrigieren und neu laden; kein Gerät wurde verändert</translation>
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
      <source>the tablet left</source>
      <translation>das Tablet hat sich getrennt</translation>
    </message>
    <message>
      <source>the tablet went away</source>
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
      <source>waiting for a person: </source>
      <translation>wartet auf eine Person: </translation>
    </message>
    <message>
      <source>retrying: </source>
      <translation>wird wiederholt: </translation>
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
    <message>
      <source>%1 steps done, %2 already so</source>
      <translation>%1 Schritte erledigt, %2 waren schon erledigt</translation>
    </message>
    <message>
      <source>retry %1 in %2 s</source>
      <translation>Wiederholung %1 in %2 s</translation>
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
      <source>No finished tablets to print labels for.</source>
      <translation>Keine fertigen Tablets, für die Etiketten gedruckt werden könnten.</translation>
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
</TS>
