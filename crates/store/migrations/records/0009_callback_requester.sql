-- Who asked for a callback: the user or API key that made the request (an agent who
-- scheduled it at the end of a call sees it in "my callbacks"). NULL for the tasks the system
-- made itself (ticket follow-ups, campaign numbers) and for those stored before.
ALTER TABLE callback_tasks ADD COLUMN requested_by TEXT;

CREATE INDEX callback_tasks_requested_by ON callback_tasks (requested_by, id)
    WHERE requested_by IS NOT NULL;
