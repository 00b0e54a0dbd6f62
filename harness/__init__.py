"""Real-process test harness shared by tests/, bench/ and scripts/: a mosquitto broker and an
MQTT subscriber, certificates, a TCP fault proxy, a fake Home Assistant Supervisor, the exit-path
lab. Not part of the package users install."""
