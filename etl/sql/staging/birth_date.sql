-- The macro birth_date(value): a date of birth as the contract writes it (YYYY-MM-DD, YYYY.MM.DD or
-- YYYY/MM/DD, surrounding whitespace ignored) -> DATE, or null when it is none of these.
-- strptime with the three formats is the rule. It costs five times a cast, and a real back office
-- writes half its dates with dots or slashes, so a value shaped like one of the formats (a digit
-- first, the same separator as 5th and 8th of 10 characters) is cast, dots made dashes; any other
-- value, and one the cast refuses, goes to strptime (coalesce reaches its second part for those
-- alone). tests/test_normalize.py checks that the cast gives what strptime gives.
-- strptime reads the words 'infinity', '-infinity' and 'epoch' as 1900-01-01: that date counts only
-- when written.
create macro birth_date(value) as nullif(coalesce(
    case
        when value >= '0' and value < ':'
            and (value like '____-__-__' or value like '____.__.__' or value like '____/__/__')
            then try_cast(replace(value, '.', '-') as date)
    end,
    try_strptime(trim(value, E' \t\r\n'), ['%Y-%m-%d', '%Y.%m.%d', '%Y/%m/%d'])
), case when not contains(value, '1900') then timestamp '1900-01-01' end)::date
