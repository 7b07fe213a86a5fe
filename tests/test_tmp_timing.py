import time
from test_random_walk import *  # noqa

async def test_t(slow_sim, tmp_path):
    app = make_app(slow_sim.url, max_transfers=1)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        t=time.monotonic()
        for _ in range(20): await pilot.press("down")
        print("idle press", (time.monotonic()-t)/20)
        t=time.monotonic()
        for _ in range(20): await pilot.click(offset=(5,5))
        print("idle click", (time.monotonic()-t)/20)
        app.jobs.submit_pull(SMALL)
        await wait_for(pilot, lambda: app.jobs.jobs[0].completed > 0)
        t=time.monotonic()
        for _ in range(20): await pilot.press("down")
        print("busy press", (time.monotonic()-t)/20)
        await pilot.press("J")
        t=time.monotonic()
        for _ in range(20): await pilot.press("down")
        print("jobs press", (time.monotonic()-t)/20)
        t=time.monotonic()
        for _ in range(5):
            await pilot.press("escape"); await pilot.press("J")
        print("open/close", (time.monotonic()-t)/10)
