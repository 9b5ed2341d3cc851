"""`streamproc soak`: a seeded chaos soak of the whole pipeline (issue 23).

* :mod:`.schedule`: PURE, the timed actions drawn from a seed (faults, triggers, bursts);
* :mod:`.data`: the generated data set, read once, and the bursts' events;
* :mod:`.brokers`, :mod:`.fleet`, :mod:`.publisher`: the cluster, the workers, the live
  replay and the event producers;
* :mod:`.actions`: performs the schedule; :mod:`.reports`: triggers and follows reports;
* :mod:`.checks`: the oracle and why a report can be checked exactly; :mod:`.final`: the end
  state against `streamproc report`;
* :mod:`.outcome`, :mod:`.table`: the figures and the printed table; :mod:`.run`: the phases.
"""
