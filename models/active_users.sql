-- Users seen in the last year who have not churned: the audience the CRM should know about.
select
  id,
  email,
  first_name,
  last_name,
  plan,
  lifetime_value,
  last_seen_at
from read_csv('data/users.csv')
where is_active
