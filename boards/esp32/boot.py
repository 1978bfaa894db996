# boot.py for ESP32, copied by `make deploy`: runs before main.py.
# Keeps the ESP-IDF's debug log (Wi-Fi state changes) off the console that
# shows ussh's messages.
import esp

esp.osdebug(None)
