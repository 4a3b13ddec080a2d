"""PumpWatch firmware entry point: the same on every board."""

import hal
from pumpwatch.unit import Unit

board = hal.select()
board.run(Unit(board).step)
