"""`./deploy.sh gcp plan|apply`: the product on Google Cloud (not shipped to the functions).

  target.py     what is deployed where: project, region, the functions found in functions/, their access,
                secrets and settings
  stage.py      one folder per function: its main.py, shared/, the team file and the runtime requirements
  gcloud.py     the gcloud CLI, called with argument lists (never a shell), JSON answers
  steps.py      each thing apply makes right: read what is there, say what would change, change it
  firestore.py  composite indexes, field exemptions and TTL policies from shared/firestore.indexes.json
  scheduler.py  the Cloud Scheduler jobs of shared/config/schedule.py, built with google-cloud-scheduler
  run.py        the checks before anything changes, then the steps in order (plan: read only)
"""
