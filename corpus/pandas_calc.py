# Checks importing pandas and a small deterministic DataFrame computation (groupby, merge, CSV round trip).
import io

import pandas as pd

df = pd.DataFrame({
    "city": ["Oslo", "Lima", "Oslo", "Pune", "Lima", "Oslo"],
    "year": [2020, 2020, 2021, 2021, 2021, 2022],
    "value": [1.5, 2.0, 3.25, 4.0, 5.5, 6.0],
})
print(df)
g = df.groupby("city")["value"].agg(["sum", "mean", "count"]).sort_index()
print(g)
pop = pd.DataFrame({"city": ["Lima", "Oslo", "Pune"], "pop": [10, 1, 7]})
merged = df.merge(pop, on="city").sort_values(["city", "year"]).reset_index(drop=True)
print(merged.to_string())
print(df.pivot_table(index="city", columns="year", values="value", aggfunc="sum").fillna(0))
buf = io.StringIO()
merged.to_csv(buf, index=False)
print(buf.getvalue())
merged.to_csv("pandas_out.csv", index=False)
print(pd.read_csv("pandas_out.csv").dtypes.to_dict())
