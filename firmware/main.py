"""PumpWatch firmware entry point: the same on every board.

Picks the board's HAL, then runs the unit, or safe mode when the unit keeps
crashing (see pumpwatch/bootguard.py).
"""

import sys

import hal
from pumpwatch import bootguard

board = hal.select()
safe_mode = bootguard.enter_safe_mode(board)
# board detection and the boot guard are done: free their code
del hal, bootguard, sys.modules["hal"], sys.modules["pumpwatch.bootguard"]
if safe_mode:
    from pumpwatch.safemode import SafeMode as App
else:
    from pumpwatch.unit import Unit as App
board.run(App(board).step)
