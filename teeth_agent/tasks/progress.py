"""Percent and ETA for a running task, and when to say them (pure: time is passed in).

Two times, because they are not the same on a simulated machine: `now` paces the sends (the wire's,
the event loop's time: the throttle protects the link and the endpoint), `hw_now` is the hardware's
clock, which the rate and so the ETA are measured in (an ETA must be in the hardware's seconds). On a real
machine they run at the same rate and `hw_now` may be left out.

- `percent` comes from done/total and never goes backwards (a flow may revise its total upwards).
- `eta` comes from the measured rate: an exponentially weighted moving average whose weight depends on the
  time between samples (half-life in seconds), so irregular progress callbacks weigh what they measured.
  With no measurement yet, eta is None — never a guess.
- Updates go out on change, at most every `min_interval` and at least every `max_interval` seconds. A
  change that arrives too soon is held and sent by the next `tick`, so the last change before a stall is
  not lost.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Update:
    percent: float
    eta: float | None


class RateEstimator:
    def __init__(self, start: float, *, half_life: float = 10.0, min_dt: float = 0.5) -> None:
        if half_life <= 0 or min_dt <= 0:
            raise ValueError("half_life and min_dt must be > 0")
        self._half_life = half_life
        self._min_dt = min_dt
        self._anchor_done = 0.0
        self._anchor_time = start
        self.rate: float | None = None

    def observe(self, done: float, now: float) -> None:
        dt = now - self._anchor_time
        if dt < self._min_dt:
            return  # too close to the last sample to measure anything; keep accumulating
        inst = max(0.0, (done - self._anchor_done) / dt)
        weight = 1.0 - 0.5 ** (dt / self._half_life)
        self.rate = inst if self.rate is None else self.rate + weight * (inst - self.rate)
        self._anchor_done, self._anchor_time = done, now

    def eta(self, remaining: float) -> float | None:
        if remaining <= 0:
            return 0.0
        if not self.rate:
            return None
        return remaining / self.rate


class ProgressThrottle:
    def __init__(
        self,
        start: float,
        *,
        hw_start: float | None = None,
        min_interval: float = 1.0,
        max_interval: float = 10.0,
        half_life: float = 10.0,
    ) -> None:
        if not 0 < min_interval <= max_interval:
            raise ValueError("need 0 < min_interval <= max_interval")
        self._min = min_interval
        self._max = max_interval
        hw0 = start if hw_start is None else hw_start
        self._rate = RateEstimator(hw0, half_life=half_life, min_dt=min(0.5, min_interval))
        self._done = 0.0
        self._total = 0.0
        self._percent = 0.0
        self._sent_at = start
        self._sent_percent: float | None = 0.0
        self._last_obs = start

    @property
    def percent(self) -> float:
        return self._percent

    def current(self) -> Update:
        remaining = self._total - self._done if self._total > 0 else 0.0
        eta = self._rate.eta(remaining) if self._total > 0 else None
        return Update(round(self._percent, 1), None if eta is None else round(eta, 1))

    @property
    def holding(self) -> bool:
        """A change is waiting for `min_interval` to pass."""
        return round(self._percent, 1) != self._sent_percent

    def due_in(self, now: float) -> float:
        """Seconds until `tick` has something to send: the held change, else the keep-alive."""
        wait = self._min if self.holding else self._max
        return max(0.0, self._sent_at + wait - now)

    def observe(self, done: float, total: float, now: float, hw_now: float | None = None) -> Update | None:
        """A progress callback: returns an update to send now, or None (it may be sent by a later tick)."""
        if total > 0 and done >= 0:
            self._done, self._total = min(done, total), total
            self._percent = max(self._percent, 100.0 * self._done / total)
            self._rate.observe(self._done, now if hw_now is None else hw_now)
            self._last_obs = now
        return self._maybe_send(now)

    def tick(self, now: float, hw_now: float | None = None) -> Update | None:
        """Called periodically: sends a held change once allowed, or a keep-alive update when due."""
        if now - self._last_obs >= self._max:
            # No progress for a while: that is a measurement too, and it should slow the ETA down.
            self._rate.observe(self._done, now if hw_now is None else hw_now)
            self._last_obs = now
        update = self._maybe_send(now)
        if update is None and now - self._sent_at >= self._max:
            update = self._mark_sent(now)
        return update

    def _maybe_send(self, now: float) -> Update | None:
        if self.holding and now - self._sent_at >= self._min:
            return self._mark_sent(now)
        return None

    def _mark_sent(self, now: float) -> Update:
        update = self.current()
        self._sent_at = now
        self._sent_percent = update.percent
        return update
