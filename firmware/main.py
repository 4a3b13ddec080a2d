"""PumpWatch firmware entry point: the same on every board.

Picks the board's HAL, then runs the unit, or safe mode when the unit keeps
crashing (see pumpwatch/bootguard.py).
"""

import sys

import hal
from pumpwatch import bootguard

board = hal.select()
del hal, sys.modules["hal"]  # board detection is done: free its code
if bootguard.enter_safe_mode(board):
    from pumpwatch.safemode import SafeMode as App
else:
    from pumpwatch.unit import Unit as App
board.run(App(board).step)
